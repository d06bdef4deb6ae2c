"""Run one notebook headless with papermill so that its runs know where they came from."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def execute_notebook(path: Path, output: Path, root: Path, parameters: dict[str, Any] | None = None,
                     progress: bool = True) -> Path:
    """Execute `path` with papermill into `output`, in the notebook's folder, with the kernel
    told the project root and the notebook's path (papermill itself does not tell it)."""
    import papermill as pm

    output.parent.mkdir(parents=True, exist_ok=True)
    saved = {k: os.environ.get(k) for k in ("MLOPS_NOTEBOOK", "MLOPS_PROJECT_ROOT")}
    os.environ["MLOPS_NOTEBOOK"] = str(path.resolve())
    os.environ["MLOPS_PROJECT_ROOT"] = str(root.resolve())
    try:
        pm.execute_notebook(str(path), str(output), parameters=parameters or {},
                            cwd=str(path.parent), progress_bar=progress, kernel_name="python3")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return output
