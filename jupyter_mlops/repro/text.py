"""A RunDiff for the terminal (`jupyter mlops runs diff A B`): the differing values as a
table, then each changed cell as a unified diff of its source and outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .diff import RunDiff

MARKS = {"same": " ", "removed": "-", "added": "+"}


def run_diff_text(d: RunDiff) -> str:
    lines = [f"a: {d.label(d.a)}", f"b: {d.label(d.b)}"]
    if d.same:
        return "\n".join([*lines, "nothing differs"])
    frame = d.to_frame()
    if len(frame):
        lines += ["", frame.to_string(na_rep="—")]
    code = d.code
    s = code["summary"]
    lines += ["", f"code (a: {code['a'] or 'none'}, b: {code['b'] or 'none'}): "
                  f"{s['modified']} modified, {s['added']} added, {s['removed']} removed, "
                  f"{s['unchanged']} unchanged cells"]
    for cell in code["cells"]:
        if cell["change"] != "unchanged":
            lines += ["", f"@@ {_where(cell['a'])} → {_where(cell['b'])} ({cell['change']})"]
            lines += _unified(cell["source"])
            if cell["outputs_changed"]:
                lines += ["  [outputs]", *_unified(cell["outputs"])]
    return "\n".join(lines)


def _where(side: dict[str, Any] | None) -> str:
    if side is None:
        return "none"
    n = side["execution_count"]
    return f"In [{n if n is not None else ' '}]"


def _unified(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for row in rows:
        if row["kind"] == "changed":
            out += [f"-{row['a']}", f"+{row['b']}"]
        else:
            out.append(MARKS[row["kind"]] + (row["a"] if row["a"] is not None else row["b"]))
    return out
