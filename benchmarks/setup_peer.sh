#!/usr/bin/env bash
# Builds (or reuses) the venv of a peer a benchmark compares against, and prints the path of
# its python on the last line of stdout.
#
#   bash benchmarks/setup_peer.sh [mlflow|mlflow-serving|dvc|evidently|feast|flaml]
#
# mlflow: bench_tracking.py (the default); mlflow-serving: bench_serving.py (MLflow with the
# scikit-learn of jupyter-mlops's environment, for `mlflow models serve`); dvc: bench_data.py;
# evidently: bench_drift.py; feast: bench_features.py (Feast with its Redis online store);
# flaml: bench_automl.py (FLAML's AutoML with LightGBM and XGBoost).
#
# The venv lives outside the repo, at $HOME/.cache/jupyter-mlops/bench-<peer>-<hash>, keyed on
# benchmarks/requirements-<peer>.txt and the Python version: unchanged requirements reuse it,
# changed ones build a new one. Override the interpreter with PYTHON=..., the folder with
# MLOPS_BENCH_PEER_VENV=...
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEER="${1:-mlflow}"
case "$PEER" in
  mlflow) CHECK="import mlflow, psycopg2; print('mlflow', mlflow.__version__)" ;;
  mlflow-serving) CHECK="import mlflow, sklearn, mlflow.pyfunc.scoring_server; print('mlflow', mlflow.__version__, 'sklearn', sklearn.__version__)" ;;
  dvc)    CHECK="import dvc, dvc.version; print('dvc', dvc.version.__version__)" ;;
  evidently) CHECK="import evidently, pyarrow; print('evidently', evidently.__version__)" ;;
  feast)  CHECK="import feast, redis, pyarrow; print('feast', feast.__version__)" ;;
  flaml)  CHECK="import flaml, flaml.automl, lightgbm, xgboost, sklearn; print('flaml', flaml.__version__, 'sklearn', sklearn.__version__)" ;;
  *) echo "unknown peer '$PEER' (mlflow, mlflow-serving, dvc, evidently, feast or flaml)" >&2; exit 2 ;;
esac
REQ="$HERE/requirements-$PEER.txt"
PY="${PYTHON:-python3}"

KEY=$("$PY" - "$REQ" <<'PYEOF'
import hashlib, sys
data = open(sys.argv[1], "rb").read()
tag = f"\npython{sys.version_info[0]}.{sys.version_info[1]}".encode()
print(hashlib.sha256(data + tag).hexdigest()[:12])
PYEOF
)
VENV="${MLOPS_BENCH_PEER_VENV:-$HOME/.cache/jupyter-mlops/bench-$PEER-$KEY}"

if [ -x "$VENV/bin/python" ] && [ -f "$VENV/.complete" ]; then
  echo "reusing $VENV" >&2
else
  echo "creating $VENV (first run, or requirements-$PEER.txt changed)" >&2
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip >&2
  "$VENV/bin/python" -m pip install -q -r "$REQ" >&2
  cp "$REQ" "$VENV/requirements-$PEER.txt"
  "$VENV/bin/python" -c "$CHECK" >&2
  touch "$VENV/.complete"
fi
echo "$VENV/bin/python"
