"""`diff_datasets`: what changed between two dataset versions (schema, rows, per-column
profile, and given key columns the added, removed and changed rows)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import MLOpsUsageError
from .versions import DatasetVersion, get_version

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

STATS = ("missing", "mean", "std", "min", "max", "distinct")


@dataclass
class DatasetDiff:
    """`.to_frame()` (one row per column), `.to_dict()`, `.figure()`, and a notebook display."""

    a: DatasetVersion
    b: DatasetVersion
    added_columns: list[str]
    removed_columns: list[str]
    retyped_columns: dict[str, tuple[str, str]]
    rows: tuple[int | None, int | None]
    columns: dict[str, dict[str, tuple[Any, Any]]]  # column -> stat -> (a, b), changed only
    key: list[str] | None = None
    added_rows: pd.DataFrame | None = field(default=None, repr=False)
    removed_rows: pd.DataFrame | None = field(default=None, repr=False)
    changed_rows: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def same(self) -> bool:
        return self.a.digest == self.b.digest

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        records = []
        for col in sorted(set(self.columns) | set(self.added_columns) | set(self.removed_columns)
                          | set(self.retyped_columns)):
            change = ("added" if col in self.added_columns else "removed"
                      if col in self.removed_columns else "retyped"
                      if col in self.retyped_columns else "profile")
            row: dict[str, Any] = {"column": col, "change": change}
            for stat, (before, after) in self.columns.get(col, {}).items():
                row[f"{stat} ({self.a.ref})"] = before
                row[f"{stat} ({self.b.ref})"] = after
            if col in self.retyped_columns:
                row["dtype"] = " → ".join(self.retyped_columns[col])
            records.append(row)
        return pd.DataFrame.from_records(records)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "a": self.a.ref, "b": self.b.ref, "same": self.same,
            "added_columns": self.added_columns, "removed_columns": self.removed_columns,
            "retyped_columns": {k: list(v) for k, v in self.retyped_columns.items()},
            "rows": list(self.rows),
            "columns": {c: {s: list(v) for s, v in d.items()} for c, d in self.columns.items()},
        }
        if self.key is not None:
            out["key"] = self.key
            for name in ("added_rows", "removed_rows", "changed_rows"):
                out[name] = len(getattr(self, name))
        return out

    def figure(self) -> go.Figure:
        from ..charts.data import profile_changes

        return profile_changes(self)

    def __str__(self) -> str:
        lines = [f"{self.a.ref} → {self.b.ref}: " + ("identical" if self.same else "changed")]
        ra, rb = self.rows
        if ra != rb:
            lines.append(f"  rows: {ra} → {rb}")
        for label, cols in (("added columns", self.added_columns),
                            ("removed columns", self.removed_columns)):
            if cols:
                lines.append(f"  {label}: {', '.join(cols)}")
        for col, (before, after) in self.retyped_columns.items():
            lines.append(f"  {col}: {before} → {after}")
        for col, stats in self.columns.items():
            parts = ", ".join(f"{s} {_fmt(x)} → {_fmt(y)}" for s, (x, y) in stats.items())
            lines.append(f"  {col}: {parts}")
        if self.key is not None:
            lines.append(f"  by {', '.join(self.key)}: {len(self.added_rows)} added, "
                         f"{len(self.removed_rows)} removed, {len(self.changed_rows)} changed")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = html.escape(str(self)).replace("\n", "<br>")
        parts = [f"<div><pre>{head}</pre>"]
        if self.key is not None:
            for name in ("added_rows", "removed_rows", "changed_rows"):
                rows = getattr(self, name)
                if len(rows):
                    parts.append(f"<b>{name.replace('_', ' ')}</b>{rows.head(20).to_html()}")
        return "".join(parts) + "</div>"


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _as_version(ref: Any) -> DatasetVersion:
    return ref if isinstance(ref, DatasetVersion) else get_version(str(ref))


def diff_datasets(a: Any, b: Any, key: str | list[str] | None = None) -> DatasetDiff:
    """Compare two versions (references like "wine@2" or DatasetVersions). With `key`, both are
    loaded and the rows added, removed and changed (same key, other values) are listed."""
    va, vb = _as_version(a), _as_version(b)
    sa = {c["name"]: c for c in va.schema}
    sb = {c["name"]: c for c in vb.schema}
    columns: dict[str, dict[str, tuple[Any, Any]]] = {}
    for col in sa.keys() & sb.keys():
        pa_ = va.profile.get("columns", {}).get(col, {})
        pb = vb.profile.get("columns", {}).get(col, {})
        changed = {s: (pa_.get(s), pb.get(s)) for s in STATS
                   if pa_.get(s) != pb.get(s) and (s in pa_ or s in pb)}
        if changed:
            columns[col] = changed
    result = DatasetDiff(
        a=va, b=vb,
        added_columns=[c for c in sb if c not in sa],
        removed_columns=[c for c in sa if c not in sb],
        retyped_columns={c: (sa[c]["dtype"], sb[c]["dtype"]) for c in sa.keys() & sb.keys()
                         if sa[c]["dtype"] != sb[c]["dtype"]},
        rows=(va.rows, vb.rows), columns=columns,
    )
    if key is not None:
        _keyed(result, [key] if isinstance(key, str) else list(key))
    return result


def _keyed(result: DatasetDiff, key: list[str]) -> None:
    import pandas as pd

    fa, fb = result.a.load(), result.b.load()
    if not isinstance(fa, pd.DataFrame) or not isinstance(fb, pd.DataFrame):
        raise MLOpsUsageError("a keyed diff needs tabular versions (DataFrames, csv, parquet, "
                              "json lines)")
    for frame, ref in ((fa, result.a.ref), (fb, result.b.ref)):
        missing = [k for k in key if k not in frame.columns]
        if missing:
            raise MLOpsUsageError(f"{ref} has no key column {', '.join(missing)}")
        if frame.duplicated(key).any():
            raise MLOpsUsageError(f"key {', '.join(key)} is not unique in {ref}")
    ia, ib = fa.set_index(key), fb.set_index(key)
    result.key = key
    result.added_rows = ib.loc[ib.index.difference(ia.index)].reset_index()
    result.removed_rows = ia.loc[ia.index.difference(ib.index)].reset_index()
    common = ia.index.intersection(ib.index)
    shared = [c for c in ia.columns if c in ib.columns]
    left, right = ia.loc[common, shared], ib.loc[common, shared]
    differs = ~((left == right) | (left.isna() & right.isna())).all(axis=1)
    result.changed_rows = pd.concat(
        {result.a.ref: left[differs], result.b.ref: right[differs]}, axis=1).reset_index()
