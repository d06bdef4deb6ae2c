"""Print the declared dependencies (runtime + test extras + build) or a hash of them.

The setup scripts key the reusable environment on this hash, so changing pyproject.toml's
tool settings does not rebuild it, while changing a requirement does.
"""

import hashlib
import sys
from pathlib import Path

import tomllib

pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
project = pyproject["project"]
# the build requirements too: the checkout is installed without build isolation (fast,
# offline once the environment exists)
deps = list(project["dependencies"]) + list(pyproject["build-system"]["requires"])
for extra in ("s3", "mlflow", "dask", "test"):
    deps += project["optional-dependencies"][extra]
deps = sorted(set(deps))
if "--hash" in sys.argv:
    key = "\n".join(deps) + f"\npython{sys.version_info[0]}.{sys.version_info[1]}"
    print(hashlib.sha256(key.encode()).hexdigest()[:12])
else:
    print("\n".join(deps))
