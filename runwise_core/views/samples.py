"""How many values per key a history holds: the default and the caps.

Apart from :mod:`.history` so that the front ends can state them in their help and schemas
without importing the history view and its downsampler.
"""

DEFAULT_SAMPLES = 500
MAX_SAMPLES = 1000
MIN_SAMPLES = 2
