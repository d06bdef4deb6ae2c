"""How models become bytes and back: the save/load protocol.

A flavor is any object with:

    name: str                       stored with each version ("sklearn", "joblib", ...)
    safe: bool                      loading runs no code from the file (no pickle)
    accepts(model) -> bool          can this flavor save this model?
    save(model) -> (bytes, list[str])   the file, and types the loader must trust
    load(data, trusted) -> model    the model back; it must have .predict(DataFrame)

Flavors are tried in order: those registered with `register_flavor` (or under the entry-point
group `jupyter_mlops.flavors`, a module attribute that is a flavor), then scikit-learn through
skops, then joblib as the last resort (pickle: loading it can run code, so it warns).
"""

from __future__ import annotations

import io
import warnings
from typing import Any, Protocol

from ..errors import MLOpsUsageError


class Flavor(Protocol):
    name: str
    safe: bool

    def accepts(self, model: Any) -> bool: ...

    def save(self, model: Any) -> tuple[bytes, list[str]]: ...

    def load(self, data: bytes, trusted: list[str]) -> Any: ...


class UnsafeModelWarning(UserWarning):
    """A model was saved or loaded with pickle (joblib): loading it can run code."""


class SklearnFlavor:
    """scikit-learn estimators and Pipelines through skops: loading builds the objects from
    a description and runs no pickle. Types outside scikit-learn/numpy that the model needs
    are listed at save time and trusted on load only by name."""

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

        return sio.loads(data, trusted=trusted or None)


class JoblibFlavor:
    """Anything picklable, through joblib: the fallback, with a warning on save and on load."""

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

        warnings.warn("loading a joblib (pickle) model: it can run code; load only models "
                      "from a store you trust", UnsafeModelWarning, stacklevel=4)
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
    return [*_registered, SklearnFlavor(), JoblibFlavor()]


def by_name(name: str) -> Flavor:
    for flavor in flavors():
        if flavor.name == name:
            return flavor
    raise MLOpsUsageError(f"no flavor named {name!r} is installed to load this model "
                          f"(known: {', '.join(f.name for f in flavors())})")


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
                          "run code", UnsafeModelWarning, stacklevel=3)
        try:
            data, trusted = candidate.save(model)
        except Exception as exc:
            if not candidate.safe:
                raise MLOpsUsageError(f"cannot save this {type(model).__name__}: {exc}") from None
            failure = f"{candidate.name}: {type(exc).__name__}: {exc}"
            warnings.warn(f"{failure}; falling back to joblib (pickle): loading this model can "
                          "run code", UnsafeModelWarning, stacklevel=3)
            continue
        return candidate, data, trusted
    raise MLOpsUsageError(f"no flavor can save a {type(model).__name__}")
