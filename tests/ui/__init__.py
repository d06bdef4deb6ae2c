"""Browser tests of the JupyterLab sidebar."""
