"""`validate(df, "name@3")`: a frame checked against the schema and profile of a version."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import MLOpsUsageError
from .versions import DatasetVersion, get_version

if TYPE_CHECKING:
    import pandas as pd


class ValidationError(MLOpsUsageError):
    """Raised by `validate(..., strict=True)`; the message names every column at fault."""


@dataclass
class ValidationReport:
    """`.ok`, `.problems` (column, check, detail), `.to_frame()`, a notebook display."""

    reference: str
    problems: list[tuple[str, str, str]]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def columns(self) -> list[str]:
        """The columns at fault, in order, once each."""
        return list(dict.fromkeys(c for c, _, _ in self.problems))

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.problems, columns=["column", "check", "detail"])

    def to_dict(self) -> dict[str, Any]:
        return {"reference": self.reference, "ok": self.ok,
                "problems": [{"column": c, "check": k, "detail": d} for c, k, d in self.problems]}

    def __str__(self) -> str:
        if self.ok:
            return f"valid against {self.reference}"
        lines = [f"{len(self.problems)} problem(s) against {self.reference} in "
                 f"{', '.join(self.columns)}:"]
        lines += [f"  {c}: {k}: {d}" for c, k, d in self.problems]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if self.ok:
            return f"<div>✓ valid against <b>{html.escape(self.reference)}</b></div>"
        return f"<div><b>{html.escape(str(self).splitlines()[0])}</b>{self.to_frame().to_html()}</div>"


def validate(df: pd.DataFrame, reference: Any, strict: bool = False,
             margin: float = 0.1) -> ValidationReport:
    """Check `df` against a version's schema: missing and extra columns, dtypes, nulls where
    there were none, unseen categories, and numbers outside the seen range widened by `margin`
    (a share of that range). `strict=True` raises ValidationError with the same message."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise MLOpsUsageError(f"validate takes a DataFrame, got {type(df).__name__}")
    version = reference if isinstance(reference, DatasetVersion) else get_version(str(reference))
    if not version.schema:
        raise MLOpsUsageError(f"{version.ref} is not tabular: it has no schema to validate against")
    expected = {c["name"]: c for c in version.schema}
    stats = version.profile.get("columns", {})
    problems: list[tuple[str, str, str]] = []
    for name in expected:
        if name not in df.columns:
            problems.append((name, "missing column", f"{version.ref} has it"))
    for name in df.columns:
        if str(name) not in expected:
            problems.append((str(name), "extra column", f"{version.ref} has no such column"))
    for name, spec in expected.items():
        if name not in df.columns:
            continue
        col = df[name]
        if str(col.dtype) != spec["dtype"]:
            problems.append((name, "dtype", f"{col.dtype}, expected {spec['dtype']}"))
        nulls = int(col.isna().sum())
        if nulls and not spec["nullable"]:
            problems.append((name, "nulls", f"{nulls} missing value(s) where there were none"))
        if "categories" in spec:
            unseen = sorted(set(map(str, col.dropna().unique())) - set(map(str, spec["categories"])))
            if unseen:
                shown = ", ".join(unseen[:5]) + (" …" if len(unseen) > 5 else "")
                problems.append((name, "unseen categories", shown))
        seen = stats.get(name, {})
        if seen.get("kind") == "numeric" and seen.get("min") is not None and \
                pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            low, high = seen["min"], seen["max"]
            pad = (high - low) * margin
            values = col.dropna()
            outside = int(((values < low - pad) | (values > high + pad)).sum())
            if outside:
                problems.append((name, "out of range",
                                 f"{outside} value(s) outside [{low - pad:.4g}, {high + pad:.4g}] "
                                 f"(seen {low:.4g}..{high:.4g}, margin {margin:.0%})"))
    report = ValidationReport(version.ref, problems)
    if strict and not report.ok:
        raise ValidationError(str(report))
    return report
