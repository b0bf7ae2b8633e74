"""Reports read, never write: ``!stats``, the weekly digest and ``buurtbot export`` share the
queries in ``queries.py``, so a figure never differs between chat and export."""
