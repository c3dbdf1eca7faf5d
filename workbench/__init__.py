"""Inverse-design and physics-informed ML workbench: agents, benchmarks and the ``workbench`` CLI."""

__version__ = "0.1.0"
