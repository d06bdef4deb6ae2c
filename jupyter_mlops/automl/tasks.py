"""What an AutoML search optimizes: the task (inferred from y when asked), the metric (a name
users know, mapped to a scikit-learn scorer and a direction), and the checks that refuse bad
input before anything is written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import MLOpsUsageError

if TYPE_CHECKING:
    import pandas as pd

TASKS = ("classification", "regression")
MAX_CLASSES = 50  # integer targets with more distinct values are taken as a regression


@dataclass(frozen=True)
class Metric:
    """`name` as users say it, `scorer` the scikit-learn scoring name, `greater_is_better`,
    `sign` (-1 for the "neg_" scorers, so values read in the metric's own units)."""

    name: str
    scorer: str
    greater_is_better: bool
    needs_proba: bool = False

    @property
    def sign(self) -> float:
        return -1.0 if self.scorer.startswith("neg_") else 1.0

    @property
    def direction(self) -> str:
        return "maximize" if self.greater_is_better else "minimize"


# name -> (scorer for binary or any, scorer for multiclass, greater is better, needs proba)
CLASSIFICATION: dict[str, tuple[str, str, bool, bool]] = {
    "accuracy": ("accuracy", "accuracy", True, False),
    "balanced_accuracy": ("balanced_accuracy", "balanced_accuracy", True, False),
    "f1": ("f1", "f1_macro", True, False),
    "f1_macro": ("f1_macro", "f1_macro", True, False),
    "f1_weighted": ("f1_weighted", "f1_weighted", True, False),
    "precision": ("precision", "precision_macro", True, False),
    "recall": ("recall", "recall_macro", True, False),
    "roc_auc": ("roc_auc", "roc_auc_ovr", True, False),
    "log_loss": ("neg_log_loss", "neg_log_loss", False, True),
}
REGRESSION: dict[str, tuple[str, bool]] = {
    "r2": ("r2", True),
    "rmse": ("neg_root_mean_squared_error", False),
    "mae": ("neg_mean_absolute_error", False),
    "mse": ("neg_mean_squared_error", False),
    "mape": ("neg_mean_absolute_percentage_error", False),
}
DEFAULT_METRIC = {"classification": "accuracy", "regression": "r2"}


def as_frame(X: Any) -> pd.DataFrame:
    """X as a DataFrame (arrays get columns x0, x1, ...), string column names."""
    import numpy as np
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        frame = X
    elif isinstance(X, np.ndarray) and X.ndim == 2:
        frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    else:
        raise MLOpsUsageError(f"X is a DataFrame or a 2-d array, not a {type(X).__name__}")
    if frame.shape[1] == 0 or len(frame) == 0:
        raise MLOpsUsageError(f"X has {len(frame)} rows and {frame.shape[1]} columns: nothing "
                              "to learn from")
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)
    if frame.columns.duplicated().any():
        raise MLOpsUsageError("X has repeated column names")
    return frame.reset_index(drop=True)


def as_series(y: Any, rows: int) -> pd.Series:
    import numpy as np
    import pandas as pd

    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise MLOpsUsageError(f"y is one column, got a DataFrame of {y.shape[1]}")
        y = y.iloc[:, 0]
    if isinstance(y, (list, tuple, np.ndarray)):
        y = pd.Series(np.asarray(y).ravel() if np.ndim(y) > 1 and np.shape(y)[1] == 1 else y)
    if not isinstance(y, pd.Series):
        raise MLOpsUsageError(f"y is a Series, an array or a list, not a {type(y).__name__}")
    if len(y) != rows:
        raise MLOpsUsageError(f"X has {rows} rows but y has {len(y)}")
    if y.isna().any():
        raise MLOpsUsageError(f"y has {int(y.isna().sum())} missing values: drop those rows")
    return y.reset_index(drop=True).rename(y.name if isinstance(y.name, str) else "target")


def infer_task(y: pd.Series) -> str:
    """classification for labels (text, categories, booleans, few distinct integers), else
    regression."""
    import pandas as pd

    if (isinstance(y.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(y)
            or not pd.api.types.is_numeric_dtype(y)):
        return "classification"
    if pd.api.types.is_integer_dtype(y) and y.nunique() <= MAX_CLASSES:
        return "classification"
    return "regression"


def resolve_metric(name: str | None, task: str, classes: int) -> Metric:
    """The metric called `name` (or the task's default: accuracy, r2) for `task`."""
    name = DEFAULT_METRIC[task] if name is None else str(name).strip().lower()
    tables = {"classification": CLASSIFICATION, "regression": REGRESSION}
    other = "regression" if task == "classification" else "classification"
    if name not in tables[task]:
        known = ", ".join(tables[task])
        if name in tables[other]:
            raise MLOpsUsageError(f"metric {name!r} is for {other}, but the task is {task} "
                                  f"(use one of: {known})")
        raise MLOpsUsageError(f"unknown metric {name!r}: for {task} use one of {known}")
    if task == "classification":
        binary, multi, greater, proba = CLASSIFICATION[name]
        return Metric(name, binary if classes == 2 else multi, greater, proba)
    scorer, greater = REGRESSION[name]
    return Metric(name, scorer, greater)


def check_task(task: str, y: pd.Series, cv: int) -> tuple[str, int]:
    """(task, number of classes): the task asked for (or inferred) and checked against y and
    the number of folds."""
    import pandas as pd

    if task in (None, "auto"):
        task = infer_task(y)
    if task not in TASKS:
        raise MLOpsUsageError(f"task must be auto, classification or regression, got {task!r}")
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
            raise MLOpsUsageError(f"a regression needs a numeric y, got {y.dtype}")
        if y.nunique() < 2:
            raise MLOpsUsageError("y has one value: there is nothing to predict")
        return task, 0
    counts = y.value_counts()
    if len(counts) < 2:
        raise MLOpsUsageError(f"y has one class ({counts.index[0]!r}): a classification needs "
                              "at least two")
    if counts.min() < cv:
        raise MLOpsUsageError(f"class {counts.idxmin()!r} has {counts.min()} rows, fewer than "
                              f"cv={cv} folds: lower cv or drop that class")
    return task, len(counts)
