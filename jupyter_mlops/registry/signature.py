"""Model signatures: the input columns (names and kinds of dtype) and the kind of output.

Inferred from the training dataset the run recorded, restricted to the columns the model was
fitted on, or from an example frame given at registration. Scoring input is checked against
it: missing, extra and mistyped columns are listed in one message; compatible input (ints
where floats are expected, integral floats where ints are) is cast and put in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import MLOpsUsageError

if TYPE_CHECKING:
    import pandas as pd

KINDS = ("integer", "float", "boolean", "string", "datetime")


class SignatureError(MLOpsUsageError):
    """Input that does not match a model's signature; `.detail` lists what is wrong."""

    def __init__(self, message: str, detail: dict[str, Any]):
        super().__init__(message)
        self.detail = detail


def kind_of(dtype: Any) -> str:
    """The kind of a pandas/numpy dtype or its name: integer, float, boolean, string, datetime."""
    text = str(dtype).lower()
    if text.startswith(("int", "uint")):
        return "integer"
    if text.startswith("float") or text.startswith("double"):
        return "float"
    if text.startswith(("bool",)):
        return "boolean"
    if text.startswith(("datetime", "timestamp")):
        return "datetime"
    return "string"  # object, string, str, category, large_string


@dataclass(frozen=True)
class Signature:
    """`inputs`: [(column, kind)], in the order the model takes them; `output`: {"kind":
    "classification", "classes": [...]} | {"kind": "regression"} | {"kind": "unknown"}."""

    inputs: tuple[tuple[str, str], ...]
    output: dict[str, Any] = field(default_factory=lambda: {"kind": "unknown"})

    @property
    def columns(self) -> list[str]:
        return [name for name, _ in self.inputs]

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": [{"name": n, "type": k} for n, k in self.inputs], "output": self.output}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        try:
            inputs = tuple((str(c["name"]), str(c["type"])) for c in data["inputs"])
        except (KeyError, TypeError):
            raise MLOpsUsageError("a signature is {'inputs': [{'name': ..., 'type': ...}], "
                                  "'output': {...}}") from None
        bad = [k for _, k in inputs if k not in KINDS]
        if bad:
            raise MLOpsUsageError(f"unknown column type {bad[0]!r}: use one of {', '.join(KINDS)}")
        return cls(inputs, dict(data.get("output") or {"kind": "unknown"}))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, model: Any = None) -> Signature:
        """From an example of the input (extra columns the model was not fitted on dropped)."""
        columns = [(str(c), kind_of(t)) for c, t in frame.dtypes.items()]
        return cls(tuple(_fitted_columns(columns, model)), output_of(model))

    def check(self, frame: pd.DataFrame, allow_extra: bool = False) -> pd.DataFrame:
        """`frame` with the signature's columns, in order, cast where compatible; raises
        SignatureError naming every missing, extra (unless `allow_extra`) and mistyped
        column."""
        import pandas as pd

        if not isinstance(frame, pd.DataFrame):
            raise MLOpsUsageError(f"expected a DataFrame, got {type(frame).__name__}")
        dtypes = {str(c): t for c, t in frame.dtypes.items()}  # one pass, no Series built
        expected = dict(self.inputs)
        missing = [c for c in self.columns if c not in dtypes]
        extra = [] if allow_extra else [c for c in dtypes if c not in expected]
        mistyped, casts = [], {}
        for name, kind in self.inputs:
            if name not in dtypes:
                continue
            got = kind_of(dtypes[name])
            if got == kind:
                continue
            if kind == "float" and got in ("integer", "boolean"):
                casts[name] = "float64"
            elif kind == "integer" and got == "float" and _integral(frame[name]):
                casts[name] = "int64"
            elif kind == "float" and got == "string" and frame[name].isna().all():
                casts[name] = "float64"  # a column of nulls arrives as objects from JSON
            else:
                mistyped.append({"column": name, "expected": kind, "got": got})
        if missing or extra or mistyped:
            parts = []
            if missing:
                parts.append("missing " + ", ".join(missing))
            if extra:
                parts.append("extra " + ", ".join(extra))
            if mistyped:
                parts.append("mistyped " + ", ".join(
                    f"{m['column']} ({m['got']}, expected {m['expected']})" for m in mistyped))
            raise SignatureError("input does not match the model's signature: " + "; ".join(parts),
                                 {"missing": missing, "extra": extra, "mistyped": mistyped})
        out = frame[self.columns] if list(frame.columns) != self.columns else frame
        return out.astype(casts) if casts else out


def _integral(series: pd.Series) -> bool:
    import numpy as np

    values = series.to_numpy(dtype="float64", na_value=np.nan)
    return bool(np.isfinite(values).all() and (values == np.round(values)).all())


def _fitted_columns(columns: list[tuple[str, str]], model: Any) -> list[tuple[str, str]]:
    """Keep the columns the model was fitted on (scikit-learn's feature_names_in_), in its
    order; a model fitted on arrays takes every column."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return columns
    kinds = dict(columns)
    absent = [str(n) for n in names if str(n) not in kinds]
    if absent:
        raise MLOpsUsageError(f"the model was fitted on columns the data lacks: {', '.join(absent)}")
    return [(str(n), kinds[str(n)]) for n in names]


def output_of(model: Any) -> dict[str, Any]:
    """The kind of output: a classifier's classes, a regressor, else unknown."""
    classes = getattr(model, "classes_", None)
    if classes is not None:
        return {"kind": "classification",
                "classes": [c.item() if hasattr(c, "item") else c for c in list(classes)]}
    try:
        from sklearn.base import BaseEstimator, is_regressor

        regressor = isinstance(model, BaseEstimator) and is_regressor(model)
    except ImportError:
        regressor = False
    return {"kind": "regression"} if regressor else {"kind": "unknown"}


def from_schema(schema: list[dict[str, Any]], model: Any) -> Signature | None:
    """From a dataset version's schema, or None when the model's columns cannot be told."""
    columns = [(c["name"], kind_of(c["dtype"])) for c in schema]
    if getattr(model, "feature_names_in_", None) is None:
        n = getattr(model, "n_features_in_", None)
        if n is None or n != len(columns):
            return None
    return Signature(tuple(_fitted_columns(columns, model)), output_of(model))
