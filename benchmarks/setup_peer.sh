#!/usr/bin/env bash
# Builds (or reuses) the MLflow venv the tracking benchmark compares against, and prints the
# path of its python on the last line of stdout.
#
# The venv lives outside the repo, at $HOME/.cache/jupyter-mlops/bench-mlflow-<hash>, keyed on
# benchmarks/requirements-mlflow.txt and the Python version: unchanged requirements reuse it,
# changed ones build a new one. Override the interpreter with PYTHON=..., the folder with
# MLOPS_BENCH_PEER_VENV=...
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REQ="$HERE/requirements-mlflow.txt"
PY="${PYTHON:-python3}"

KEY=$("$PY" - "$REQ" <<'PYEOF'
import hashlib, sys
data = open(sys.argv[1], "rb").read()
tag = f"\npython{sys.version_info[0]}.{sys.version_info[1]}".encode()
print(hashlib.sha256(data + tag).hexdigest()[:12])
PYEOF
)
VENV="${MLOPS_BENCH_PEER_VENV:-$HOME/.cache/jupyter-mlops/bench-mlflow-$KEY}"

if [ -x "$VENV/bin/python" ] && [ -f "$VENV/.complete" ]; then
  echo "reusing $VENV" >&2
else
  echo "creating $VENV (first run, or requirements-mlflow.txt changed)" >&2
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip >&2
  "$VENV/bin/python" -m pip install -q -r "$REQ" >&2
  cp "$REQ" "$VENV/requirements-mlflow.txt"
  "$VENV/bin/python" -c "import mlflow, psycopg2; print('mlflow', mlflow.__version__)" >&2
  touch "$VENV/.complete"
fi
echo "$VENV/bin/python"
