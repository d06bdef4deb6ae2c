"""The jupyter_server extension: the store behind JupyterLab, with Jupyter's own auth."""
