"""The notebook display of a RunDiff: its differences as a table, then the code side by side
(changed lines coloured, unchanged cells folded into a count)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .diff import RunDiff

COLOURS = {"removed": "rgba(220,80,80,.18)", "added": "rgba(60,170,90,.18)",
           "changed": "rgba(230,170,40,.20)", "same": "transparent"}
MAX_PACKAGES = 40  # rows shown open; the rest behind a <details>


def run_diff_html(d: RunDiff) -> str:
    code = d.code
    s = code["summary"]
    head = (f"<b>{html.escape(d.label(d.a))}</b> → <b>{html.escape(d.label(d.b))}</b>: "
            + ("nothing differs" if d.same else
               f"{len(d.params)} params, {len(d.metrics)} metrics, {len(d.inputs)} inputs, "
               f"{sum(len(v) for v in d.packages.values())} packages and "
               f"{s['modified'] + s['added'] + s['removed']} cells differ"))
    frame = d.to_frame()
    listed = frame.index.astype(str)  # an empty frame's index holds no strings
    packages = frame[listed.str.startswith("packages.")]
    values = frame[~listed.str.startswith("packages.")]
    parts = [f"<div class='mlops-run-diff'><div>{head}</div>"]
    if len(values):
        parts.append(values.to_html(na_rep="—"))
    if len(packages):
        table = packages.to_html(na_rep="—")
        parts.append(f"<details{' open' if len(packages) <= MAX_PACKAGES else ''}><summary>"
                     f"{len(packages)} packages differ</summary>{table}</details>")
    parts.append(_code_html(code))
    parts.append("</div>")
    return "".join(parts)


def _code_html(code: dict[str, Any]) -> str:
    if code["a"] is None and code["b"] is None:
        return "<div><i>neither run recorded its code</i></div>"
    out = [f"<div>code from the {code['a'] or 'nothing'} of a and the {code['b'] or 'nothing'} "
           "of b</div><table style='border-collapse:collapse;font-family:monospace;"
           "font-size:12px'>"]
    folded = 0
    for cell in code["cells"]:
        if cell["change"] == "unchanged":
            folded += 1
            continue
        if folded:
            out.append(_fold(folded))
            folded = 0
        out.append(_cell_html(cell))
    if folded:
        out.append(_fold(folded))
    out.append("</table>")
    return "".join(out)


def _fold(count: int) -> str:
    return (f"<tr><td colspan=2 style='color:gray;text-align:center'>… {count} unchanged "
            f"cell{'s' if count > 1 else ''} …</td></tr>")


def _cell_html(cell: dict[str, Any]) -> str:
    def count(side: dict[str, Any] | None) -> str:
        if side is None:
            return "—"
        n = side["execution_count"]
        return f"In [{n if n is not None else ' '}]" + (" · run" if side["run_cell"] else "")

    rows = [f"<tr><th style='text-align:left'>{count(cell['a'])}</th>"
            f"<th style='text-align:left'>{count(cell['b'])} <i>{cell['change']}</i></th></tr>"]
    for part, style in (("source", ""), ("outputs", "color:gray;")):
        for row in cell[part]:
            colour = COLOURS[row["kind"]]
            rows.append("<tr>" + "".join(
                f"<td style='{style}text-align:left;white-space:pre;vertical-align:top;"
                f"background:{colour if row[side] is not None else 'transparent'}'>"
                f"{html.escape(row[side] or '')}</td>" for side in ("a", "b")) + "</tr>")
    return "".join(rows)
