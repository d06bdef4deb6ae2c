"""A monitoring batch's performance from counts that merge: the confusion counts of (actual,
predicted) pairs for a classifier, the sums of squared and absolute errors for a regressor.
One DataFrame and the partitions of a partitioned batch are measured the same way: each part
is counted (`pair_counts`), the counts are added (`PairCounts.merge`), and `metrics` reads
accuracy and F1 (binary, or macro with more classes), or RMSE and MAE, from the total, equal
to scikit-learn's figures on all the rows at once."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import MLOpsUsageError

if TYPE_CHECKING:
    import pandas as pd

PAIRS = 10_000  # at most this many distinct (actual, predicted) pairs are counted


@dataclass
class PairCounts:
    """Rows with both an actual and a predicted value: how many, each (actual, predicted)
    pair's count (None past PAIRS pairs: a regressor's), and, when both are numbers, the sums
    of squared and absolute errors and whether every prediction is a whole number."""

    n: int = 0
    pairs: dict[tuple[Any, Any], int] | None = field(default_factory=dict)
    numeric: bool = True
    whole: bool = True
    squared: float = 0.0
    absolute: float = 0.0

    def merge(self, other: PairCounts) -> PairCounts:
        self.n += other.n
        if self.pairs is None or other.pairs is None:
            self.pairs = None
        else:
            for pair, count in other.pairs.items():
                self.pairs[pair] = self.pairs.get(pair, 0) + count
            if len(self.pairs) > PAIRS:
                self.pairs = None
        self.numeric = self.numeric and other.numeric
        self.whole = self.whole and other.whole
        self.squared += other.squared
        self.absolute += other.absolute
        return self


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def pair_counts(actuals: pd.Series, predictions: pd.Series) -> PairCounts:
    """The counts of one part of a batch (rows missing either value are left out)."""
    import numpy as np
    import pandas as pd

    from .sketch import is_numeric

    both = (actuals.notna() & predictions.notna()).to_numpy()
    y, p = actuals[both].reset_index(drop=True), predictions[both].reset_index(drop=True)
    out = PairCounts(len(y), numeric=is_numeric(y) and is_numeric(p))
    if out.numeric and len(y):
        truth, guess = y.to_numpy(dtype="float64"), p.to_numpy(dtype="float64")
        error = truth - guess
        out.squared, out.absolute = float(error @ error), float(np.abs(error).sum())
        out.whole = bool(np.all(guess == np.round(guess)))
    if out.numeric and not out.whole:
        out.pairs = None  # a regressor's predictions: no pairs to count
    elif len(y):
        found = pd.DataFrame({"a": y, "p": p}).value_counts(sort=False)
        out.pairs = (None if len(found) > PAIRS else
                     {(_plain(a), _plain(b)): int(c) for (a, b), c in found.items()})
    return out


def task_of(counts: PairCounts) -> str:
    """A batch's task when nothing recorded says: regression for numbers with fractions."""
    return "regression" if counts.numeric and not counts.whole else "classification"


def metrics(task: str, counts: PairCounts) -> dict[str, float]:
    """accuracy and f1 (a classifier) or rmse and mae (a regressor), from the counts."""
    if not counts.n:
        return {}
    if task == "regression":
        if not counts.numeric:
            raise MLOpsUsageError("actuals and predictions cannot be compared: a regressor's "
                                  "are numbers")
        return {"rmse": math.sqrt(counts.squared / counts.n), "mae": counts.absolute / counts.n}
    if counts.pairs is None:
        raise MLOpsUsageError(f"actuals and predictions have more than {PAIRS:,} distinct pairs: "
                              "that is not a classifier's output")
    kinds = {isinstance(v, str) for pair in counts.pairs for v in pair}
    if len(kinds) > 1:
        raise MLOpsUsageError("actuals and predictions cannot be compared: one holds text, "
                              "the other numbers")
    labels = sorted({v for pair in counts.pairs for v in pair}, key=str)
    right = sum(c for (a, p), c in counts.pairs.items() if a == p)

    def f1(label: Any) -> float:
        tp = counts.pairs.get((label, label), 0)
        fp = sum(c for (a, p), c in counts.pairs.items() if p == label and a != label)
        fn = sum(c for (a, p), c in counts.pairs.items() if a == label and p != label)
        return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0

    score = f1(labels[-1]) if len(labels) <= 2 else sum(map(f1, labels)) / len(labels)
    return {"accuracy": right / counts.n, "f1": score}


def performance(task: str, actuals: pd.Series, predictions: pd.Series, model: Any = None,
                inputs: pd.DataFrame | None = None) -> dict[str, float]:
    """accuracy, f1 and (with probabilities) roc_auc for a classifier; rmse, mae otherwise."""
    from sklearn import metrics as sk

    out = metrics(task, pair_counts(actuals, predictions))
    y = actuals.to_numpy()
    if task != "regression" and model is not None and inputs is not None \
            and hasattr(model, "predict_proba") and len(set(y.tolist())) > 1:
        try:
            proba = model.predict_proba(inputs)
            classes = list(model.classes_)
            out["roc_auc"] = float(
                sk.roc_auc_score(y == classes[1], proba[:, 1]) if len(classes) == 2
                else sk.roc_auc_score(y, proba, multi_class="ovr", labels=classes))
        except (ValueError, TypeError, IndexError, AttributeError):
            pass  # labels the model never saw: no AUC for this batch
    return out
