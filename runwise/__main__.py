"""``python -m runwise``: the runwise CLI."""

import sys

from .cli import main

sys.exit(main())
