"""The error tree: every failure a user can meet is an MLOpsError with a message meant for them."""

from __future__ import annotations


class MLOpsError(Exception):
    """Root of every error jupyter-mlops raises on purpose."""


class MLOpsUsageError(MLOpsError, ValueError):
    """Bad input from the user: a name, a value, a filter, an option. Nothing was written."""


class NotFoundError(MLOpsUsageError, LookupError):
    """A run, experiment or artifact that the user named does not exist."""


class FilterSyntaxError(MLOpsUsageError):
    """A filter expression that does not parse; the message points at the offending place."""

    def __init__(self, message: str, text: str = "", position: int | None = None):
        self.reason = message
        self.text = text
        self.position = position
        if text and position is not None:
            pointer = " " * (position + 2) + "^"
            message = f"{message} (at position {position})\n  {text}\n{pointer}"
        super().__init__(message)


class StoreError(MLOpsError):
    """The metadata store or artifact store could not do what was asked."""


class SchemaError(StoreError):
    """The store's schema does not match this version of jupyter-mlops; says what to do."""


class IntegrityError(StoreError):
    """Stored bytes do not match the digest that names them."""


class GateError(MLOpsError):
    """A promotion gate did not hold: the alias stayed where it was; the message says why."""


class TrustError(MLOpsError):
    """Something read from the store would run code here, and the project's configuration does
    not allow it (a pickle model, skops types outside the trusted list, a feature view's stored
    source): nothing ran. The message names the setting that would allow it."""


class AccessError(MLOpsError):
    """A team store's database refused the action to this user's role: the message names the
    role it has and the one the action needs. Nothing was changed."""


class EnvironmentBuildError(MLOpsError):
    """A run's recorded environment could not be built: a package uv could not get, or a local
    source that no longer exists. The message names it in one line; nothing was cached."""
