"""``python -m runwise.server``: the MCP server over stdio."""

from . import main

raise SystemExit(main())
