"""REST handlers, one module per capability; each lists its `ROUTES` (path template, handler)."""
