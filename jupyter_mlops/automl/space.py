"""The search space: scikit-learn model families with their hyperparameter ranges, and the
preprocessing every candidate gets (missing values imputed, categories one-hot encoded,
numbers standardized for the families that need it).

A user's own estimator joins the search as a family of its own: an instance (searched as it
is) or `(instance, {param: optuna distribution or list of choices})`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import MLOpsUsageError

if TYPE_CHECKING:
    import optuna
    import pandas as pd

Suggest = Callable[["optuna.Trial", str], dict[str, Any]]


def _none(task: str, features: int) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Family:
    """A kind of model: `build(task, params, seed)` gives an unfitted estimator, `suggest`
    picks its hyperparameters for a trial, `defaults(task, n_features)` are scikit-learn's own
    (in the trial's names: the first trial of each family); `scale` standardizes numeric
    inputs first; `probabilities`: it can score log_loss."""

    name: str
    build: Callable[[str, dict[str, Any], int], Any]
    suggest: Suggest
    defaults: Callable[[str, int], dict[str, Any]] = _none
    scale: bool = False
    probabilities: bool = True
    tasks: tuple[str, ...] = ("classification", "regression")


def _linear(task: str, p: dict[str, Any], seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression, Ridge

    if task == "classification":
        return LogisticRegression(C=p["C"], class_weight=p["class_weight"], max_iter=2000)
    return Ridge(alpha=p["alpha"], random_state=seed)


def _linear_space(t: optuna.Trial, task: str) -> dict[str, Any]:
    if task == "classification":
        return {"C": t.suggest_float("linear.C", 1e-4, 1e3, log=True),
                "class_weight": t.suggest_categorical("linear.class_weight", [None, "balanced"])}
    return {"alpha": t.suggest_float("linear.alpha", 1e-4, 1e3, log=True)}


def _forest(extra: bool) -> Callable[[str, dict[str, Any], int], Any]:
    def build(task: str, p: dict[str, Any], seed: int) -> Any:
        from sklearn import ensemble

        kind = ("ExtraTrees" if extra else "RandomForest") + (
            "Classifier" if task == "classification" else "Regressor")
        return getattr(ensemble, kind)(random_state=seed, n_jobs=1, **p)

    return build


def _forest_space(prefix: str) -> Suggest:
    def suggest(t: optuna.Trial, task: str) -> dict[str, Any]:
        depth = t.suggest_int(f"{prefix}.max_depth", 0, 32)  # 0: grown until pure
        return {"n_estimators": t.suggest_int(f"{prefix}.n_estimators", 50, 400, log=True),
                "max_depth": depth or None,
                "min_samples_leaf": t.suggest_int(f"{prefix}.min_samples_leaf", 1, 16, log=True),
                "max_features": t.suggest_float(f"{prefix}.max_features", 0.1, 1.0)}

    return suggest


def _hgb(task: str, p: dict[str, Any], seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = (HistGradientBoostingClassifier if task == "classification"
           else HistGradientBoostingRegressor)
    return cls(random_state=seed, early_stopping=False, **p)


def _hgb_space(t: optuna.Trial, task: str) -> dict[str, Any]:
    return {"learning_rate": t.suggest_float("hgb.learning_rate", 0.01, 0.3, log=True),
            "max_iter": t.suggest_int("hgb.max_iter", 50, 400, log=True),
            "max_leaf_nodes": t.suggest_int("hgb.max_leaf_nodes", 4, 64, log=True),
            "min_samples_leaf": t.suggest_int("hgb.min_samples_leaf", 2, 64, log=True),
            "l2_regularization": t.suggest_float("hgb.l2_regularization", 1e-6, 10, log=True)}


def _knn(task: str, p: dict[str, Any], seed: int) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    cls = KNeighborsClassifier if task == "classification" else KNeighborsRegressor
    return cls(**p)


def _knn_space(t: optuna.Trial, task: str) -> dict[str, Any]:
    return {"n_neighbors": t.suggest_int("knn.n_neighbors", 1, 50, log=True),
            "weights": t.suggest_categorical("knn.weights", ["uniform", "distance"]),
            "p": t.suggest_int("knn.p", 1, 2)}


def _svm(task: str, p: dict[str, Any], seed: int) -> Any:
    from sklearn.svm import SVC, SVR

    if task == "classification":
        return SVC(C=p["C"], gamma=p["gamma"], random_state=seed)
    return SVR(C=p["C"], gamma=p["gamma"], epsilon=p["epsilon"])


def _svm_space(t: optuna.Trial, task: str) -> dict[str, Any]:
    out = {"C": t.suggest_float("svm.C", 1e-2, 1e3, log=True),
           "gamma": t.suggest_float("svm.gamma", 1e-4, 1.0, log=True)}
    if task == "regression":
        out["epsilon"] = t.suggest_float("svm.epsilon", 1e-3, 1.0, log=True)
    return out


def _linear_defaults(task: str, features: int) -> dict[str, Any]:
    if task == "classification":
        return {"linear.C": 1.0, "linear.class_weight": None}
    return {"linear.alpha": 1.0}


def _forest_defaults(prefix: str) -> Callable[[str, int], dict[str, Any]]:
    def defaults(task: str, features: int) -> dict[str, Any]:
        share = max(0.1, min(1.0, features ** 0.5 / features)) if task == "classification" else 1.0
        return {f"{prefix}.max_depth": 0, f"{prefix}.n_estimators": 100,
                f"{prefix}.min_samples_leaf": 1, f"{prefix}.max_features": share}

    return defaults


def _hgb_defaults(task: str, features: int) -> dict[str, Any]:
    return {"hgb.learning_rate": 0.1, "hgb.max_iter": 100, "hgb.max_leaf_nodes": 31,
            "hgb.min_samples_leaf": 20, "hgb.l2_regularization": 1e-6}


def _knn_defaults(task: str, features: int) -> dict[str, Any]:
    return {"knn.n_neighbors": 5, "knn.weights": "uniform", "knn.p": 2}


def _svm_defaults(task: str, features: int) -> dict[str, Any]:
    out = {"svm.C": 1.0, "svm.gamma": max(1e-4, min(1.0, 1 / features))}  # "scale" on scaled X
    if task == "regression":
        out["svm.epsilon"] = 0.1
    return out


# in rough order of cost: each family's defaults are tried in this order first
FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("linear", _linear, _linear_space, _linear_defaults, scale=True),
    Family("knn", _knn, _knn_space, _knn_defaults, scale=True),
    Family("hist_gradient_boosting", _hgb, _hgb_space, _hgb_defaults),
    Family("random_forest", _forest(False), _forest_space("rf"), _forest_defaults("rf")),
    Family("extra_trees", _forest(True), _forest_space("et"), _forest_defaults("et")),
    Family("svm", _svm, _svm_space, _svm_defaults, scale=True, probabilities=False),
)}


def _custom(item: Any) -> Family:
    """A family for the user's estimator: an instance, or (instance, {param: distribution})."""
    from sklearn.base import clone, is_classifier, is_regressor

    estimator, space = item if isinstance(item, tuple) and len(item) == 2 else (item, {})
    if not hasattr(estimator, "fit") or not hasattr(estimator, "get_params"):
        raise MLOpsUsageError(f"estimators takes family names ({', '.join(FAMILIES)}) or "
                              f"scikit-learn estimators, not {estimator!r}")
    if not isinstance(space, dict):
        raise MLOpsUsageError("a custom estimator's space is a dict of param -> distribution")
    name = type(estimator).__name__
    known = estimator.get_params()
    unknown = [p for p in space if p not in known]
    if unknown:
        raise MLOpsUsageError(f"{name} has no parameter {', '.join(map(str, unknown))}")
    distributions = {p: _distribution(name, p, d) for p, d in space.items()}

    def suggest(t: optuna.Trial, task: str) -> dict[str, Any]:
        return {p: _suggest(t, f"{name}.{p}", d) for p, d in distributions.items()}

    def build(task: str, p: dict[str, Any], seed: int) -> Any:
        return clone(estimator).set_params(**p)

    tasks = tuple(task for task, fits in (("classification", is_classifier(estimator)),
                                          ("regression", is_regressor(estimator))) if fits)
    return Family(name, build, suggest, probabilities=hasattr(estimator, "predict_proba"),
                  tasks=tasks or ("classification", "regression"))


def _distribution(name: str, param: str, spec: Any) -> Any:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(spec, (FloatDistribution, IntDistribution, CategoricalDistribution)):
        return spec
    if isinstance(spec, (list, tuple)) and spec:
        return CategoricalDistribution(list(spec))
    raise MLOpsUsageError(f"{name}.{param}: give an optuna FloatDistribution, IntDistribution "
                          "or CategoricalDistribution, or a list of choices")


def _suggest(t: optuna.Trial, name: str, d: Any) -> Any:
    from optuna.distributions import FloatDistribution, IntDistribution

    if isinstance(d, FloatDistribution):
        return t.suggest_float(name, d.low, d.high, log=d.log, step=d.step)
    if isinstance(d, IntDistribution):
        return t.suggest_int(name, d.low, d.high, log=d.log, step=d.step)
    return t.suggest_categorical(name, d.choices)


def families(estimators: Any, task: str) -> list[Family]:
    """The families to search: every built-in one by default, else those named or given."""
    if estimators is None:
        return list(FAMILIES.values())
    if isinstance(estimators, str):
        estimators = [e.strip() for e in estimators.split(",") if e.strip()]
    if not isinstance(estimators, (list, tuple)) or not estimators:
        raise MLOpsUsageError("estimators is a list of family names or scikit-learn estimators")
    out: list[Family] = []
    for item in estimators:
        if isinstance(item, str):
            if item not in FAMILIES:
                raise MLOpsUsageError(f"unknown estimator family {item!r}: use "
                                      f"{', '.join(FAMILIES)} or a scikit-learn estimator")
            out.append(FAMILIES[item])
        else:
            out.append(_custom(item))
    for family in out:
        if task not in family.tasks:
            raise MLOpsUsageError(f"{family.name} does not do {task}")
    if len({f.name for f in out}) != len(out):
        raise MLOpsUsageError("estimators names a family twice")
    return out


def preprocessor(X: pd.DataFrame, scale: bool) -> Any:
    """Numbers: median-imputed (and standardized when `scale`); everything else: the most
    frequent value imputed, then one-hot encoded (levels unseen in training ignored)."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])
               and not pd.api.types.is_bool_dtype(X[c])]
    other = [c for c in X.columns if c not in numeric]
    steps = [("impute", SimpleImputer(strategy="median"))]
    if scale:
        steps.append(("scale", StandardScaler()))
    parts = [("numeric", Pipeline(steps), numeric)] if numeric else []
    if other:
        parts.append(("categorical", Pipeline([
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False))]), other))
    return ColumnTransformer(parts, verbose_feature_names_out=False)


def pipeline(family: Family, task: str, params: dict[str, Any], X: pd.DataFrame,
             seed: int) -> Any:
    """The candidate: preprocessing, then the family's estimator with `params`."""
    from sklearn.pipeline import Pipeline

    return Pipeline([("prep", preprocessor(X, family.scale)),
                     ("model", family.build(task, params, seed))])
