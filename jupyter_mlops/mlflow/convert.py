"""Between this store's rows and MLflow's entities: times (float seconds here, integer
milliseconds there, exact both ways for MLflow's values), statuses, lifecycles, ids, and
MLflow's error codes for this store's errors."""

from __future__ import annotations

import functools
import json
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    PERMISSION_DENIED,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
)

from ..errors import AccessError, MLOpsError, MLOpsUsageError, NotFoundError

DEFAULT_EXPERIMENT = "Default"  # MLflow's experiment "0"
STATUS_OUT = {"running": "RUNNING", "finished": "FINISHED", "failed": "FAILED",
              "killed": "KILLED", "scheduled": "SCHEDULED"}
STATUS_IN = {v: k for k, v in STATUS_OUT.items()}
LIFECYCLE_OUT = {"active": "active", "archived": "deleted"}
LIFECYCLE_IN = {"active": "active", "deleted": "archived"}


def ms(seconds: float | None) -> int | None:
    """Integer milliseconds of a time in float seconds (MLflow's millisecond values come back
    exactly: a millisecond count divided by 1000 and multiplied back rounds to itself)."""
    return None if seconds is None else int(round(seconds * 1000))


def seconds(millis: int | float | None) -> float | None:
    return None if millis is None else int(millis) / 1000.0


def status_in(status: str | int) -> str:
    """Ours of MLflow's status (its name, or its RunStatus number)."""
    from mlflow.entities import RunStatus

    try:
        if isinstance(status, int):
            status = RunStatus.to_string(status)
        return STATUS_IN[str(status).upper()]
    except KeyError:
        raise MlflowException(f"invalid run status {status!r}: one of {', '.join(STATUS_IN)}",
                              INVALID_PARAMETER_VALUE) from None


def tags_of(text: str | None) -> dict[str, str]:
    return json.loads(text) if text else {}


def param_number(value: str) -> float | None:
    """The numeric projection of an MLflow param (a string), for this store's own numeric
    filters: the number when the string is one, else None."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if f == f and abs(f) != float("inf") else None


def not_found(message: str) -> MlflowException:
    return MlflowException(message, RESOURCE_DOES_NOT_EXIST)


def invalid(message: str) -> MlflowException:
    return MlflowException(message, INVALID_PARAMETER_VALUE)


def exists(message: str) -> MlflowException:
    return MlflowException(message, RESOURCE_ALREADY_EXISTS)


def as_mlflow_error(exc: Exception) -> Exception:
    """This store's error as MLflow's: a missing thing, bad input, a role's refusal."""
    if isinstance(exc, MlflowException):
        return exc
    if isinstance(exc, AccessError):
        return MlflowException(str(exc), PERMISSION_DENIED)
    if isinstance(exc, NotFoundError):
        return not_found(str(exc))
    if isinstance(exc, MLOpsUsageError):
        return invalid(str(exc))
    if isinstance(exc, MLOpsError):
        return MlflowException(str(exc))
    return exc


def json_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def mlflow_errors(method):
    """This store's errors (not found, bad input, a team role's refusal) as MLflow's."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            translated = as_mlflow_error(exc)
            if translated is exc:
                raise
            raise translated from None

    return wrapper
