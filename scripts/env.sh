# Sourced by scripts/demo and scripts/test: makes (or reuses) the Python environment and
# installs this checkout into it. The environment lives outside the clone, keyed by a hash
# of the declared dependencies, so a fresh clone with unchanged requirements reuses it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
phase_start=$(date +%s)
phase() {  # phase NAME: print how long the previous phase took, start timing the next
  local now; now=$(date +%s)
  [ -n "${phase_name:-}" ] && printf '== %-28s %4ss\n' "$phase_name" "$((now - phase_start))"
  phase_name="$1"; phase_start=$now
}

KEY=$("$PY" "$ROOT/scripts/deps.py" --hash)
VENV="${MLOPS_VENV:-$HOME/.cache/jupyter-mlops/venv-$KEY}"
phase "python environment"
if [ ! -x "$VENV/bin/python" ] || [ ! -f "$VENV/.complete" ]; then
  echo "creating $VENV (first run, or requirements changed)"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$PY" "$ROOT/scripts/deps.py" --list > "$VENV/requirements.txt"
  "$VENV/bin/python" -m pip install -q -r "$VENV/requirements.txt"
  touch "$VENV/.complete"
else
  echo "reusing $VENV"
fi
phase "install jupyter-mlops"
"$VENV/bin/python" -m pip install -q --no-deps --force-reinstall "$ROOT"
export PATH="$VENV/bin:$PATH"
