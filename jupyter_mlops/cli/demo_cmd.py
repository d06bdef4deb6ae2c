"""`jupyter mlops demo`: run the example notebooks headless into the embedded store, say what
the store now holds, then open JupyterLab on them (`--no-lab` or MLOPS_DEMO_NO_LAB=1 skips;
`--scheduler` or MLOPS_DEMO_SCHEDULER=1 runs the pipeline scheduler beside it)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

DEMO_NOTEBOOKS = ("quickstart.ipynb", "models.ipynb", "monitoring.ipynb", "features.ipynb",
                  "automl.ipynb", "mlflow.ipynb")
# notebooks that need an optional extra: (the module it brings, the extra)
NEEDS = {"mlflow.ipynb": ("mlflow", "mlflow")}


def add(sub) -> None:
    p = sub.add_parser("demo", help="run the example notebooks, then start JupyterLab")
    p.add_argument("--notebooks", type=Path, help="folder of the example notebooks "
                   "(default: notebooks/ in the project root)")
    p.add_argument("--no-lab", action="store_true", help="do not start JupyterLab "
                   "(also MLOPS_DEMO_NO_LAB=1)")
    p.add_argument("--port", type=int, default=8888)
    p.add_argument("--scheduler", action="store_true", help="also run `jupyter mlops scheduler` "
                   "beside JupyterLab (also MLOPS_DEMO_SCHEDULER=1)")
    p.set_defaults(func=run)


def run(args) -> int:
    from .. import config
    from ..errors import MLOpsUsageError
    from ..pipelines.execute import execute_notebook
    from ..store.info import describe

    root = Path(config.load().project_root)
    folder = (args.notebooks or root / "notebooks").resolve()
    missing = [n for n in DEMO_NOTEBOOKS if not (folder / n).is_file()]
    if missing:
        raise MLOpsUsageError(f"no {', '.join(missing)} in {folder}: run the demo from a "
                              "checkout of jupyter-mlops, or pass --notebooks DIR")
    out_dir = root / ".mlops" / "demo"
    for name in DEMO_NOTEBOOKS:
        module, extra = NEEDS.get(name, (None, None))
        if module is not None and importlib.util.find_spec(module) is None:
            print(f"skipping {folder / name}: it needs pip install 'jupyter-mlops[{extra}]'")
            continue
        print(f"running {folder / name} with papermill …", flush=True)
        execute_notebook(folder / name, out_dir / name, root=root)
        print(f"  executed copy: {out_dir / name}")
    print(describe())
    if args.no_lab or os.environ.get("MLOPS_DEMO_NO_LAB", "") not in ("", "0"):
        return 0
    cmd = ["jupyter", "lab", f"--notebook-dir={folder}", f"--port={args.port}", "--no-browser"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    if not (args.scheduler or os.environ.get("MLOPS_DEMO_SCHEDULER", "") not in ("", "0")):
        print("starting", " ".join(cmd), flush=True)
        os.execvp(cmd[0], cmd)
    import subprocess
    import sys

    scheduler = subprocess.Popen([sys.executable, "-m", "jupyter_mlops.cli", "scheduler"])
    print(f"started the scheduler (pid {scheduler.pid}); starting", " ".join(cmd), flush=True)
    try:
        return subprocess.call(cmd)
    finally:
        scheduler.terminate()
