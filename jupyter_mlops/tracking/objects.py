"""Objects as artifact bytes and back: DataFrame ↔ parquet (zstd), plotly figure ↔ JSON,
dict/list ↔ JSON, matplotlib figure → PNG. Heavy libraries are imported only for their objects."""

from __future__ import annotations

import io
import json
from typing import Any

from ..errors import MLOpsUsageError

PARQUET = "application/vnd.apache.parquet"
PLOTLY = "application/vnd.plotly.v1+json"
JSON = "application/json"
PNG = "image/png"


def _module(obj: Any) -> str:
    return type(obj).__module__.split(".", 1)[0]


def encode(obj: Any) -> tuple[bytes, str, str]:
    """(bytes, media type, default file name) for a supported object."""
    mod = _module(obj)
    if mod == "pandas":
        import pandas as pd

        if isinstance(obj, pd.Series):
            obj = obj.to_frame()
        if isinstance(obj, pd.DataFrame):
            buf = io.BytesIO()
            obj.to_parquet(buf, compression="zstd")
            return buf.getvalue(), PARQUET, "data.parquet"
    if mod == "plotly":
        return obj.to_json().encode(), PLOTLY, "figure.json"
    if mod == "matplotlib" and hasattr(obj, "savefig"):
        buf = io.BytesIO()
        obj.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue(), PNG, "figure.png"
    if isinstance(obj, (dict, list, tuple)):
        from ..values import _jsonable

        try:
            text = json.dumps(obj, indent=2, sort_keys=isinstance(obj, dict), default=_jsonable)
        except (TypeError, ValueError) as exc:
            raise MLOpsUsageError(f"cannot store this {type(obj).__name__} as JSON: {exc}") from None
        return text.encode(), JSON, "data.json"
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj), "application/octet-stream", "data.bin"
    raise MLOpsUsageError(
        f"cannot log a {type(obj).__module__}.{type(obj).__name__} as an artifact: give a path, "
        "a DataFrame, a plotly or matplotlib figure, a dict or list, or bytes"
    )


def decode(data: bytes, media_type: str) -> Any:
    """The object an artifact holds (bytes when its type has no richer form)."""
    if media_type == PARQUET:
        import pandas as pd

        return pd.read_parquet(io.BytesIO(data))
    if media_type == PLOTLY:
        import plotly.io as pio

        return pio.from_json(data.decode())
    if media_type == JSON:
        return json.loads(data)
    if media_type.startswith("text/"):
        return data.decode()
    return data


def media_type_of(name: str) -> str:
    import mimetypes

    if name.endswith(".parquet"):
        return PARQUET
    guess, _ = mimetypes.guess_type(name)
    return guess or "application/octet-stream"
