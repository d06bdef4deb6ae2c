"""Notebooks as production jobs: papermill execution (the pipeline spec, runner and exporters build on it)."""
