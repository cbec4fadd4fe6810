"""runwise_core: the pure analysis core of runwise (readers, run model, analysis, rendering).

It never imports mcp or argparse, never prints and never exits.
"""
