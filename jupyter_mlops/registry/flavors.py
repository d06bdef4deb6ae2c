"""How models become bytes and back: the save/load protocol.

A flavor is any object with:

    name: str                       stored with each version ("sklearn", "joblib", ...)
    safe: bool                      loading runs no code from the file (no pickle)
    accepts(model) -> bool          can this flavor save this model?
    save(model) -> (bytes, list[str])   the file, and the types outside the flavor's defaults
                                    that a loader will have to trust (information only)
    load(data, trusted) -> model    the model back (it must have .predict(DataFrame));
                                    `trusted` is the project's configured list, never a
                                    value read from the store
    needs_pickle(data) -> bool      optional, for a safe flavor whose files may hold
                                    pickles (MLflow's): those load only with allow_pickle

Flavors are tried in order: those registered with `register_flavor` (or under the entry-point
group `jupyter_mlops.flavors`, a module attribute that is a flavor), then scikit-learn through
skops, then an MLflow model directory (mlflow/flavor.py), then joblib as the last resort
(pickle). A store is written by many people, so what a
row says never decides that code runs: `load` refuses an unsafe flavor unless the caller opts
in (`allow_pickle`), and skops trusts only its own defaults plus the project's
`trusted_types`.
"""

from __future__ import annotations

import io
import warnings
from typing import Any, Protocol

from ..errors import MLOpsUsageError, TrustError

PICKLE_OPT_IN = ("pass allow_pickle=True (load_model, score_batch, monitor), or set "
                 "allow_pickle = true under [tool.jupyter-mlops] in pyproject.toml "
                 "(MLOPS_ALLOW_PICKLE=1) for servers and jobs")


class Flavor(Protocol):
    name: str
    safe: bool

    def accepts(self, model: Any) -> bool: ...

    def save(self, model: Any) -> tuple[bytes, list[str]]: ...

    def load(self, data: bytes, trusted: list[str]) -> Any: ...


def how_to_trust(missing: list[str], trusted: list[str] | tuple[str, ...]) -> str:
    """The types missing from the project's trusted_types, and the setting that adds them
    (the whole list: setting it replaces the one in force)."""
    import json

    wanted = sorted({*trusted, *missing})
    return (f"{', '.join(missing)}. If you trust the code they name, set trusted_types = "
            f"{json.dumps(wanted)} under [tool.jupyter-mlops] in pyproject.toml (or the same "
            f"names, comma-separated, in MLOPS_TRUSTED_TYPES)")


class UnsafeModelWarning(UserWarning):
    """A model was saved or loaded with pickle (joblib): loading it can run code."""


class SklearnFlavor:
    """scikit-learn estimators and Pipelines through skops: loading builds the objects from
    a description and runs no pickle. Types outside skops's defaults that the model needs are
    listed at save time (for people); a loader trusts only skops's defaults and the types the
    project's configuration names."""

    name = "sklearn"
    safe = True

    def accepts(self, model: Any) -> bool:
        try:
            from sklearn.base import BaseEstimator
        except ImportError:
            return False
        return isinstance(model, BaseEstimator)

    def save(self, model: Any) -> tuple[bytes, list[str]]:
        import skops.io as sio

        data = sio.dumps(model)
        trusted = sio.get_untrusted_types(data=data)
        sio.loads(data, trusted=trusted)  # what cannot come back (a lambda) must not be saved
        return data, trusted

    def load(self, data: bytes, trusted: list[str]) -> Any:
        import skops.io as sio

        untrusted = sorted(set(sio.get_untrusted_types(data=data)) - set(trusted))
        if untrusted:
            raise TrustError(f"its skops file needs types that are neither skops's defaults nor "
                             f"in this project's trusted_types: {how_to_trust(untrusted, trusted)}")
        return sio.loads(data, trusted=list(trusted) or None)


class JoblibFlavor:
    """Anything picklable, through joblib: the fallback, with a warning on save; loading
    unpickles, so `load` below lets it run only when the caller opted in."""

    name = "joblib"
    safe = False

    def accepts(self, model: Any) -> bool:
        return True

    def save(self, model: Any) -> tuple[bytes, list[str]]:
        import joblib

        buf = io.BytesIO()
        joblib.dump(model, buf, compress=3)
        return buf.getvalue(), []

    def load(self, data: bytes, trusted: list[str]) -> Any:
        import joblib

        return joblib.load(io.BytesIO(data))


_registered: list[Flavor] = []
_loaded_entry_points = False


def register_flavor(flavor: Flavor) -> None:
    """Add a flavor, tried before the built-in ones (the newest first)."""
    for attr in ("name", "safe", "accepts", "save", "load"):
        if not hasattr(flavor, attr):
            raise MLOpsUsageError(f"a flavor needs {attr!r} (see jupyter_mlops.registry.flavors)")
    _registered[:] = [f for f in _registered if f.name != flavor.name]
    _registered.insert(0, flavor)


def flavors() -> list[Flavor]:
    """Every flavor, in the order they are tried."""
    global _loaded_entry_points
    if not _loaded_entry_points:
        from importlib.metadata import entry_points

        _loaded_entry_points = True
        for ep in entry_points(group="jupyter_mlops.flavors"):
            register_flavor(ep.load())
    from ..mlflow.flavor import MlflowFlavor

    return [*_registered, SklearnFlavor(), MlflowFlavor(), JoblibFlavor()]


def by_name(name: str) -> Flavor:
    for flavor in flavors():
        if flavor.name == name:
            return flavor
    raise MLOpsUsageError(f"no flavor named {name!r} is installed to load this model "
                          f"(known: {', '.join(f.name for f in flavors())})")


def load(flavor_name: str, data: bytes, label: str, allow_pickle: bool,
         trusted: tuple[str, ...]) -> Any:
    """The model in `data`, loaded by the flavor named `flavor_name`: refused (TrustError,
    naming the opt-in) when that flavor is unsafe and `allow_pickle` is false, and skops
    trusting only `trusted` beyond its defaults. `label` names the model in messages."""
    chosen = by_name(flavor_name)
    unsafe = not chosen.safe or getattr(chosen, "needs_pickle", lambda _data: False)(data)
    if unsafe and not allow_pickle:
        raise TrustError(f"{label} is saved with {chosen.name} (pickle): loading it can run any "
                         f"code its file holds, so it loads only when you opt in: "
                         f"{PICKLE_OPT_IN}")
    try:
        return chosen.load(data, list(trusted))
    except TrustError as exc:
        raise TrustError(f"{label} was not loaded: {exc}") from None


def save(model: Any, flavor: str | None = None) -> tuple[Flavor, bytes, list[str]]:
    """Save with the named flavor, or the first that accepts the model; a safe flavor that
    fails falls back to joblib with a warning saying why."""
    if flavor is not None:
        chosen = by_name(flavor)
        data, trusted = chosen.save(model)
        return chosen, data, trusted
    failure = None
    for candidate in flavors():
        if not candidate.accepts(model):
            continue
        if not candidate.safe and failure is None:
            warnings.warn(f"{type(model).__name__} is saved with joblib (pickle): loading it can "
                          "run code, so it loads only with allow_pickle=True (or the "
                          "allow_pickle setting)", UnsafeModelWarning, stacklevel=3)
        try:
            data, trusted = candidate.save(model)
        except Exception as exc:
            if not candidate.safe:
                raise MLOpsUsageError(f"cannot save this {type(model).__name__}: {exc}") from None
            failure = f"{candidate.name}: {type(exc).__name__}: {exc}"
            warnings.warn(f"{failure}; falling back to joblib (pickle): loading this model can "
                          "run code, so it loads only with allow_pickle=True (or the "
                          "allow_pickle setting)", UnsafeModelWarning, stacklevel=3)
            continue
        return candidate, data, trusted
    raise MLOpsUsageError(f"no flavor can save a {type(model).__name__}")
