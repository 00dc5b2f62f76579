"""One module per replaced script; each ends with ``ns = Collection(...)``."""
