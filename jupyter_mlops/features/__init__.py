"""Feature store: views (definitions, versions), offline materialization and point-in-time
training sets (DuckDB over parquet), online stores (SQLite, Redis)."""
