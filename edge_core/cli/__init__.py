"""The ``faceseal`` command line: one convention (``framework``), one module per group of commands,
each a thin adapter over :mod:`edge_core.ops`."""
