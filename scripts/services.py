"""Check the services the tests use: PostgreSQL on 127.0.0.1:5432 (`SELECT 1` as the user
postgres) and Redis on 127.0.0.1:6379 (`PING`), each with a real request, not just an open
port (a port can be open while the server refuses work).

scripts/test runs this with the project's environment (psycopg and redis-py are dependencies
of the package). Prints what answers. Under CI=true a missing service fails the run here,
before any test; elsewhere the tests that need it are skipped, and pytest prints why (-rs)."""

import os
import sys


def postgres() -> str:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres",
                         connect_timeout=3) as conn:
        conn.execute("SELECT 1").fetchone()
        return f"PostgreSQL {conn.info.parameter_status('server_version')}"


def redis() -> str:
    import redis as client

    server = client.Redis(host="127.0.0.1", port=6379, socket_timeout=3,
                          socket_connect_timeout=3)
    try:
        server.ping()
        return f"Redis {server.info('server')['redis_version']}"
    finally:
        server.close()


SERVICES = {"PostgreSQL on 127.0.0.1:5432": postgres, "Redis on 127.0.0.1:6379": redis}
missing = []
for name, check in SERVICES.items():
    try:
        print(f"{name}: answers ({check()})")
    except Exception as exc:  # refused, timed out, authentication, a missing driver
        missing.append(name)
        print(f"{name}: does NOT answer ({type(exc).__name__}: {str(exc).splitlines()[0]})")
if missing and os.environ.get("CI") == "true":
    sys.exit(f"CI=true and required service(s) missing: {', '.join(missing)}")
