"""Where AutoML studies live: Optuna's own storage, never the project's tables (whose
migrations Optuna's would collide with). By default its journal file under
`.mlops/automl/studies.journal`, which every process on this host shares; for Dask workers on
other hosts, the `automl_storage` setting names one they all reach: `redis://…` (Optuna's
journal on Redis) or `postgresql://…` (Optuna's RDB storage in a schema of its own,
`mlops_optuna`)."""

from __future__ import annotations

from typing import Any

from .. import config
from ..errors import MLOpsUsageError

JOURNAL = "automl/studies.journal"
SCHEMA = "mlops_optuna"  # the PostgreSQL schema of Optuna's own tables


def location() -> str:
    """The storage studies use now: a journal file's path, or the `automl_storage` URL."""
    settings = config.load()
    named = settings.automl_storage
    if named:
        if not named.startswith(("redis://", "rediss://", "postgresql://", "postgresql+")):
            raise MLOpsUsageError(f"automl_storage is a redis:// or postgresql:// URL, got "
                                  f"{config.redact(named)!r}")
        return named
    return str(settings.mlops_dir / JOURNAL)


def open_storage(where: str) -> Any:
    """Optuna's storage at `where` (what `location` gave, here or on a worker)."""
    from optuna.storages import JournalStorage, RDBStorage
    from optuna.storages.journal import JournalFileBackend, JournalRedisBackend

    if where.startswith(("redis://", "rediss://")):
        import warnings

        import optuna

        with warnings.catch_warnings():  # "experimental" since Optuna 3.1, and kept since
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return JournalStorage(JournalRedisBackend(where))
    if where.startswith("postgresql"):
        import sqlalchemy

        url = sqlalchemy.engine.make_url(where).set(drivername="postgresql+psycopg")
        engine = sqlalchemy.create_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(sqlalchemy.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        except sqlalchemy.exc.IntegrityError:
            pass  # made at the same moment by another process: it exists
        finally:
            engine.dispose()
        return RDBStorage(url.render_as_string(hide_password=False), engine_kwargs={
            "connect_args": {"options": f"-csearch_path={SCHEMA}"}})
    from pathlib import Path

    Path(where).parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(where))


def probe(where: str) -> str | None:
    """On a worker: None when it reaches the study storage `where`, else why not."""
    from pathlib import Path

    if "://" not in where and not Path(where).parent.parent.is_dir():
        return (f"the AutoML journal {where} is not on this worker's host: set automl_storage "
                "to a redis:// or postgresql:// URL every worker reaches")
    try:
        open_storage(where).get_all_studies()
    except Exception as exc:
        return f"the AutoML storage does not answer ({type(exc).__name__}: " \
               f"{config.redact(str(exc)).splitlines()[0][:200]})"
    return None
