"""Gymnasium environments of the workbench (registered on import)."""
