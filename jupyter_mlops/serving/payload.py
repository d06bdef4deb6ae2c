"""Request bodies as DataFrames, in the formats clients of `mlflow models serve` send:
`dataframe_split`, `dataframe_records`, `inputs` / `instances` (records, columns or rows),
a plain list of records, or CSV text."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..errors import MLOpsUsageError

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("dataframe_split", "dataframe_records", "inputs", "instances")


def parse_body(body: bytes, content_type: str, columns: list[str] | None) -> pd.DataFrame:
    """The frame a request carries; MLOpsUsageError (a 400) for anything else. `columns`
    (the signature's) name the values of row lists."""
    import pandas as pd

    if content_type.split(";")[0].strip().lower() == "text/csv":
        import io

        try:
            return pd.read_csv(io.BytesIO(body))
        except Exception as exc:
            raise MLOpsUsageError(f"the body is not readable CSV: {exc}") from None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MLOpsUsageError(f"the body is not valid JSON: {exc}") from None
    if isinstance(data, list):
        return _records(data, columns)
    if not isinstance(data, dict):
        raise MLOpsUsageError("expected a JSON object with one of " + ", ".join(FORMATS)
                              + ", or a list of records")
    keys = [k for k in FORMATS if k in data]
    unknown = sorted(set(data) - set(FORMATS) - {"params"})
    if len(keys) != 1 or unknown:
        raise MLOpsUsageError("expected exactly one of " + ", ".join(FORMATS)
                              + (f"; unknown keys: {', '.join(unknown)}" if unknown else ""))
    value = data[keys[0]]
    if keys[0] == "dataframe_split":
        if not isinstance(value, dict) or not isinstance(value.get("data"), list):
            raise MLOpsUsageError('dataframe_split takes {"columns": [...], "data": [[...], ...]}')
        try:
            return pd.DataFrame(value["data"], columns=value.get("columns") or columns,
                                index=value.get("index"))
        except (ValueError, TypeError) as exc:
            raise MLOpsUsageError(f"dataframe_split does not make a table: {exc}") from None
    if keys[0] == "dataframe_records":
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
            raise MLOpsUsageError("dataframe_records takes a list of objects")
        return pd.DataFrame.from_records(value)
    if isinstance(value, dict):  # {"col": [values...]} or {"col": value}
        try:
            return pd.DataFrame({k: v if isinstance(v, list) else [v] for k, v in value.items()})
        except ValueError as exc:
            raise MLOpsUsageError(f"{keys[0]} columns do not make a table: {exc}") from None
    if isinstance(value, list):
        return _records(value, columns)
    raise MLOpsUsageError(f"{keys[0]} takes records, rows or columns")


def _records(value: list[Any], columns: list[str] | None) -> pd.DataFrame:
    import pandas as pd

    if all(isinstance(r, dict) for r in value):
        return pd.DataFrame.from_records(value)
    if all(isinstance(r, list) for r in value):
        if columns is None:
            raise MLOpsUsageError("rows without column names need a model with a signature")
        if any(len(r) != len(columns) for r in value):
            raise MLOpsUsageError(f"each row needs {len(columns)} values: {', '.join(columns)}")
        return pd.DataFrame(value, columns=columns)
    raise MLOpsUsageError("expected a list of records (objects) or of rows (lists)")


def predictions_json(values: Any) -> list[Any]:
    """Predictions as JSON-ready values (numpy scalars and arrays become lists)."""
    if hasattr(values, "columns") and hasattr(values, "to_dict"):  # a DataFrame
        return values.to_dict(orient="records")
    tolist = getattr(values, "tolist", None)
    if callable(tolist):
        return tolist()
    return list(values)
