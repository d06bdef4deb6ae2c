"""`MLOpsApp`: the jupyter_server extension, enabled on install by
jupyter-config/server-config/jupyter_mlops.json.

It resolves the project (and so the store) from the server's root directory and hands it to
every kernel the server starts (MLOPS_PROJECT_ROOT), so notebooks and the sidebar always use
the same store. REST handlers mount under {base_url}mlops/api/."""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_server.extension.application import ExtensionApp


class MLOpsApp(ExtensionApp):
    name = "jupyter_mlops"

    def initialize_settings(self) -> None:
        from ..config import find_project_root, load, redact

        if not os.environ.get("MLOPS_PROJECT_ROOT"):
            root_dir = getattr(self.serverapp, "root_dir", None) or os.getcwd()
            os.environ["MLOPS_PROJECT_ROOT"] = str(find_project_root(Path(root_dir)))
        settings = load()
        self.settings["mlops_project_root"] = settings.project_root
        self.log.info("jupyter-mlops: project %s, store %s", settings.project_root,
                      redact(settings.store_uri))

    def initialize_handlers(self) -> None:
        """Mount the route table (ExtensionApp puts the server's base URL in front)."""
        from .routes import handlers

        self.handlers.extend(handlers())
