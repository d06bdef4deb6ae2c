"""`autolog()` for scikit-learn: each top-level fit of an estimator, Pipeline or search CV
inside a run logs its params (a Pipeline's nested params under their sklearn names), the fit
time, the training score, a search's best params and score, and the fitted model (skops).

The first fit in a run logs into that run; each later fit gets a nested run of its own, so a
loop over models keeps every fit apart. Patching happens once, when scikit-learn
is (or gets) imported; the patched `fit` costs one flag check when autolog is off."""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import threading
import time
import warnings
from typing import Any

_state = threading.local()
_enabled = False
_patched = False
_warned = False
_fitted: set[str] = set()  # runs that already hold a fit


def autolog(disable: bool = False) -> None:
    """Turn sklearn autologging on (or off with `disable=True`) for this process."""
    global _enabled
    _enabled = not disable
    if _enabled:
        _ensure_patched()


def enabled() -> bool:
    return _enabled


def set_enabled(flag: bool) -> bool:
    """Switch autolog and return the previous state (used around %%track cells)."""
    global _enabled
    previous = _enabled
    _enabled = flag
    if flag:
        _ensure_patched()
    return previous


def _ensure_patched() -> None:
    if _patched:
        return
    if "sklearn" in sys.modules:
        _patch()
    elif not any(isinstance(f, _SklearnHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _SklearnHook())


class _SklearnHook(importlib.abc.MetaPathFinder):
    """Patches scikit-learn right after its first import, so importing it stays lazy."""

    def find_spec(self, name, path=None, target=None):
        if name != "sklearn":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        original = spec.loader.exec_module

        def exec_module(module):
            original(module)
            _patch()

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _patch() -> None:
    global _patched
    if _patched:
        return
    _patched = True
    from sklearn.base import BaseEstimator
    from sklearn.utils import all_estimators

    all_estimators()  # imports every estimator module, so the class tree below is complete
    seen: set[type] = set()
    todo = [BaseEstimator]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        todo.extend(cls.__subclasses__())
        fit = cls.__dict__.get("fit")
        if callable(fit) and not getattr(fit, "_mlops_autolog", False):
            cls.fit = _wrap(fit)


def _wrap(fit):
    import functools

    @functools.wraps(fit)
    def fit_and_log(self, *args, **kwargs):
        if not _enabled or getattr(_state, "depth", 0) or _called_by_sklearn():
            return fit(self, *args, **kwargs)
        from .fluent import active_run

        if active_run() is None:
            return fit(self, *args, **kwargs)
        _state.depth = 1
        start = time.perf_counter()
        try:
            result = fit(self, *args, **kwargs)
        finally:
            _state.depth = 0
        try:
            _log_fit(self, args, kwargs, time.perf_counter() - start)
        except Exception as exc:  # logging must never break the user's fit
            _warn_once(exc)
        return result

    fit_and_log._mlops_autolog = True  # type: ignore[attr-defined]
    return fit_and_log


def _called_by_sklearn() -> bool:
    """scikit-learn fits helpers of its own (a LabelEncoder inside f1_score): not user fits."""
    caller = sys._getframe(2).f_globals.get("__name__", "")
    return caller == "sklearn" or caller.startswith("sklearn.")


def _simple_params(estimator: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in estimator.get_params(deep=True).items():
        if value is None or isinstance(value, (bool, int, float, str)):
            out[prefix + key] = value
        elif hasattr(value, "get_params"):
            out[prefix + key] = type(value).__name__
    return out


def _log_fit(estimator: Any, args: tuple, kwargs: dict, seconds: float) -> None:
    from ..errors import MLOpsUsageError
    from . import fluent

    run = fluent.active_run()
    params = _simple_params(estimator)
    best = getattr(estimator, "best_params_", None)
    if isinstance(best, dict):
        params.update({f"best.{k}": v if isinstance(v, (bool, int, float, str)) or v is None
                       else type(v).__name__ for k, v in best.items()})
    nested = run.id in _fitted
    if nested:
        run = fluent.start_run(name=type(estimator).__name__, nested=True)
    _fitted.add(run.id)
    try:
        try:
            fluent.log_params(params, run=run)
        except MLOpsUsageError:
            pass
        cls = type(estimator)
        fluent.set_tags({"mlops.estimator": f"{cls.__module__}.{cls.__qualname__}"}, run=run)
        metrics = {"fit_time_s": seconds}
        X = args[0] if args else kwargs.get("X")
        y = args[1] if len(args) > 1 else kwargs.get("y")
        if y is not None and hasattr(estimator, "score"):
            try:
                metrics["training_score"] = float(estimator.score(X, y))
            except Exception:
                pass
        best_score = getattr(estimator, "best_score_", None)
        if best_score is not None:
            metrics["best_cv_score"] = float(best_score)
        fluent.log_metrics(metrics)  # the active run: `run` itself, nested or not
        log_model(estimator, run)
    finally:
        if nested:
            fluent.end_run(run=run)


def log_model(estimator: Any, run: Any) -> None:
    """The fitted estimator as the run's artifact model.skops (it loads without pickle)."""
    import skops.io as sio

    from . import fluent

    fluent.log_artifact(sio.dumps(estimator), name="model.skops", run=run)


def _warn_once(exc: BaseException) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(f"jupyter-mlops autolog skipped a fit: {type(exc).__name__}: {exc}",
                      RuntimeWarning, stacklevel=3)
