"""Data versioning: fingerprints over whole contents, versions, profiles, lineage of runs."""
