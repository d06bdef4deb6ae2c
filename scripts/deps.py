"""Print the declared dependencies (runtime + test extras) or a hash of them.

The setup scripts key the reusable environment on this hash, so changing pyproject.toml's
tool settings does not rebuild it, while changing a requirement does.
"""

import hashlib
import sys
from pathlib import Path

import tomllib

project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
deps = list(project["dependencies"])
for extra in ("s3", "test"):
    deps += project["optional-dependencies"][extra]
deps = sorted(set(deps))
if "--hash" in sys.argv:
    key = "\n".join(deps) + f"\npython{sys.version_info[0]}.{sys.version_info[1]}"
    print(hashlib.sha256(key.encode()).hexdigest()[:12])
else:
    print("\n".join(deps))
