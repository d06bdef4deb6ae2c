# Sourced by scripts/demo and scripts/test: makes (or reuses) the Python environment and
# installs this checkout into it. The environment lives outside the clone, keyed by a hash
# of the declared dependencies, so a fresh clone with unchanged requirements reuses it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
started_at=$(date +%s)
phase_start=$started_at
phase_name=""
phase() {  # phase NAME: print how long the previous phase took, start timing the next
  local now; now=$(date +%s)
  if [ -n "$phase_name" ]; then
    printf '== phase %-24s %5ss\n' "$phase_name" "$((now - phase_start))"
  fi
  phase_name="$1"; phase_start=$now
  [ -n "$1" ] && printf '== phase %s ...\n' "$1"
  return 0
}
finish() {  # on exit: the last phase's time and the total
  local rc=$?
  phase ""
  printf '== total %29ss (exit %s)\n' "$(( $(date +%s) - started_at ))" "$rc"
}
trap finish EXIT

KEY=$("$PY" "$ROOT/scripts/deps.py" --hash)
VENV="${MLOPS_VENV:-$HOME/.cache/jupyter-mlops/venv-$KEY}"
phase "python environment"
if [ ! -x "$VENV/bin/python" ] || [ ! -f "$VENV/.complete" ]; then
  echo "creating $VENV (first run, or requirements changed)"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -qq --upgrade pip
  "$PY" "$ROOT/scripts/deps.py" --list > "$VENV/requirements.txt"
  "$VENV/bin/python" -m pip install -qq -r "$VENV/requirements.txt"
  touch "$VENV/.complete"
else
  echo "reusing $VENV"
fi
phase "install jupyter-mlops"
export PATH="$VENV/bin:$PATH"  # jlpm and jupyter-builder for the labextension build
# the wheel's build runs the labextension build (jlpm install, then build:prod): yarn's
# global cache (~/.yarn/berry) makes the install fast after the first time
"$VENV/bin/python" -m pip install -qq --no-deps --no-build-isolation --force-reinstall "$ROOT"
