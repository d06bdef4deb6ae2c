"""Check the services the tests use (PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379).

Prints what is reachable. Under CI=true a missing service fails the run here, before any test;
elsewhere the tests that need it are skipped with a reason."""

import os
import socket
import sys

SERVICES = {"PostgreSQL": ("127.0.0.1", 5432)}
missing = []
for name, (host, port) in SERVICES.items():
    try:
        socket.create_connection((host, port), timeout=3).close()
        print(f"{name} on {host}:{port}: reachable")
    except OSError as exc:
        missing.append(name)
        print(f"{name} on {host}:{port}: NOT reachable ({exc})")
if missing and os.environ.get("CI") == "true":
    sys.exit(f"CI=true and required service(s) missing: {', '.join(missing)}")
