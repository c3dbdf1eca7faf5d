"""Learned surrogates of the workbench physics models (each in its own subpackage, e.g. :mod:`.mpipn`)."""
