"""runwise: front ends (the ``runwise`` CLI and the MCP server) over ``runwise_core``."""

__version__ = "0.1.0"
