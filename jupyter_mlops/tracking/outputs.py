"""The outputs a kernel shows while a run is active, kept by execution count for the run's
notebook snapshot: displays (IPython's display publisher), execute results (its display
hook), stdout/stderr (a tee on the streams' `write`), and errors (from the cell recorder).

Installed when a run starts and removed when it ends (cells.py); between runs no cell goes
through here. Each wrapper calls the original first and records after, inside a guard: a
failure is handed to the recorder, which reports it once and removes the capture.

Sizes are capped as they are recorded (so memory is too): `MAX_OUTPUT_CHARS` per output
(a longer stream or text is cut, a longer image or other data is left out with a note) and
`MAX_NOTEBOOK_CHARS` over all outputs (later outputs are left out, each cell saying how many).
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from typing import Any

MAX_OUTPUT_CHARS = 100_000
MAX_NOTEBOOK_CHARS = 2_000_000
NOTE = "jupyter-mlops"  # the metadata key of notes the snapshot adds
_ABSENT = object()


class OutputCapture:
    """Outputs by execution count, recorded through wrappers on the shell's display
    publisher, display hook and sys.stdout/sys.stderr."""

    def __init__(self, ip: Any, fail: Callable[[BaseException], None]):
        self.ip = ip
        self.fail = fail
        self.outputs: dict[int, list[dict]] = {}
        self.size = 0  # characters kept over all outputs
        self.truncated = 0  # outputs cut or with data left out (per-output limit)
        self.dropped: dict[int, int] = {}  # outputs left out (notebook limit), by cell
        self.active = False
        self.silent = False  # a silent execution (a frontend's own request) is not the user's
        self._patched: list[tuple] = []  # (object, attribute, our wrapper, what it replaced)
        self._streams: list[tuple] = []
        self._displays: dict[str, dict] = {}  # display_id -> its output (for updates)

    # -- install / remove ---------------------------------------------------------------------
    def install(self) -> None:
        self.active = True
        self._patch(self.ip.display_pub, "publish", self._publish, self._patched)
        self._patch(self.ip.displayhook, "write_format_data", self._result, self._patched)
        self.install_streams()

    def install_streams(self) -> None:
        """Tee sys.stdout/sys.stderr. IPython (9+) puts its own tee on each stream for every
        cell and restores the stream's `write` when the cell ends, so ours goes on at each
        cell's start (and at the run's start) and comes off at each cell's end."""
        if self.active and not self._streams:
            for name in ("stdout", "stderr"):
                self._patch(getattr(sys, name), "write", self._tee(name), self._streams)

    def remove_streams(self) -> None:
        self._unpatch(self._streams)

    def remove(self) -> None:
        """Stop recording; put back every original still wrapped by us (a wrapper someone
        else put over ours stays, passing straight through)."""
        self.active = False
        self._unpatch(self._streams)
        self._unpatch(self._patched)

    @staticmethod
    def _patch(obj: Any, attr: str, make: Callable[[Callable], Callable], into: list) -> None:
        original = getattr(obj, attr, None)
        if obj is None or original is None:
            return
        before = getattr(obj, "__dict__", {}).get(attr, _ABSENT)  # an instance's own, if any
        wrapper = make(original)
        try:
            setattr(obj, attr, wrapper)
        except (AttributeError, TypeError):  # a C stream (terminal IPython): not teed
            return
        into.append((obj, attr, wrapper, before))

    @staticmethod
    def _unpatch(patched: list) -> None:
        for obj, attr, wrapper, before in reversed(patched):
            if getattr(obj, "__dict__", {}).get(attr) is wrapper:
                try:
                    if before is _ABSENT:
                        delattr(obj, attr)
                    else:
                        setattr(obj, attr, before)
                except (AttributeError, TypeError):
                    pass
        patched.clear()

    # -- wrappers (hot path: one check, the original, then the record in a guard) -------------
    def _publish(self, original: Callable) -> Callable:
        def publish(data, metadata=None, *args, **kwargs):
            out = original(data, metadata, *args, **kwargs)
            if self.active and not self.silent:
                try:
                    display_id = (kwargs.get("transient") or {}).get("display_id")
                    if kwargs.get("update"):
                        self._update(display_id, data, metadata)
                    else:
                        self._bundle("display_data", data, metadata, display_id)
                except Exception as exc:
                    self.fail(exc)
            return out
        return publish

    def _result(self, original: Callable) -> Callable:
        def write_format_data(format_dict, md_dict=None):
            out = original(format_dict, md_dict)
            if self.active and not self.silent:
                try:
                    self._bundle("execute_result", format_dict, md_dict)
                except Exception as exc:
                    self.fail(exc)
            return out
        return write_format_data

    def _tee(self, name: str) -> Callable[[Callable], Callable]:
        def make(original: Callable) -> Callable:
            def write(text):
                out = original(text)
                if self.active and not self.silent and text and not self._echo():
                    try:
                        self._text(name, text)
                    except Exception as exc:
                        self.fail(exc)
                return out
            return write
        return make

    def _echo(self) -> bool:
        """A write made while IPython publishes a display or shows a traceback (a terminal
        prints those): recorded as the display or error already."""
        ip = self.ip
        return bool(getattr(ip.display_pub, "is_publishing", False)
                    or getattr(ip.displayhook, "is_active", False)
                    or getattr(ip, "showing_traceback", False))

    # -- records ------------------------------------------------------------------------------
    def count(self) -> int:
        """The execution count of the cell running now: its input is the last in history
        (IPython 9 counts up before running a cell, earlier versions after)."""
        return len(self.ip.history_manager.input_hist_raw) - 1

    def _cell(self) -> list[dict]:
        return self.outputs.setdefault(self.count(), [])

    def _room(self, size: int) -> bool:
        if self.size + max(size, 1) > MAX_NOTEBOOK_CHARS:
            count = self.count()
            self.dropped[count] = self.dropped.get(count, 0) + 1
            return False
        self.size += size
        return True

    def _text(self, name: str, text: str) -> None:
        outs = self._cell()
        last = outs[-1] if outs else None
        if last is None or last.get("name") != name:
            if not self._room(0):
                return
            last = {"output_type": "stream", "name": name, "text": [], "size": 0, "cut": 0}
            outs.append(last)
        room = min(MAX_OUTPUT_CHARS - last["size"], MAX_NOTEBOOK_CHARS - self.size)
        if len(text) > room:
            if not last["cut"]:
                self.truncated += 1
            last["cut"] += len(text) - max(room, 0)
            text = text[:max(room, 0)]
        last["text"].append(text)
        last["size"] += len(text)
        self.size += len(text)

    def _update(self, display_id: str | None, data: dict, metadata: dict | None) -> None:
        """`update_display`: the display shown earlier (in any cell) takes the new data, as
        the notebook shows it."""
        earlier = self._displays.get(display_id)
        if earlier is None:
            return
        kept, size = self._fit(data)
        if self.size - earlier["size"] + size > MAX_NOTEBOOK_CHARS:
            return  # the earlier data stays
        self.size += size - earlier["size"]
        earlier.update(data=kept, metadata=dict(metadata or {}), size=size)

    def _fit(self, data: dict) -> tuple[dict, int]:
        """A mime bundle within the per-output limit, and its size."""
        kept, size, left_out = {}, 0, []
        for mime, value in data.items():
            n = len(value) if isinstance(value, str) else len(json.dumps(value, default=str))
            if n <= MAX_OUTPUT_CHARS:
                kept[mime], size = value, size + n
            elif mime == "text/plain":
                kept[mime] = value[:MAX_OUTPUT_CHARS] + _cut_note(n - MAX_OUTPUT_CHARS)
                size += MAX_OUTPUT_CHARS
            else:
                left_out.append(f"{mime} ({n:,} characters)")
        if left_out:
            self.truncated += 1
            note = f"[{NOTE}: left out of the snapshot, over {MAX_OUTPUT_CHARS:,} characters: " \
                   f"{', '.join(left_out)}]"
            kept["text/plain"] = kept.get("text/plain", "") + ("\n" if "text/plain" in kept else "") + note
            size += len(note) + 1
        return kept, size

    def _bundle(self, kind: str, data: dict, metadata: dict | None,
                display_id: str | None = None) -> None:
        kept, size = self._fit(data)
        if not self._room(size):
            return
        out = {"output_type": kind, "data": kept, "metadata": dict(metadata or {}), "size": size}
        if kind == "execute_result":
            out["execution_count"] = self.count()
        if display_id:
            self._displays[display_id] = out
        self._cell().append(out)

    def result(self, value: Any) -> None:
        """A `%%track` cell's value, shown as its result only after its run ended: formatted
        here (as the display hook will) to be part of the run's snapshot."""
        if self.active and value is not None:
            data, metadata = self.ip.display_formatter.format(value)
            self._bundle("execute_result", data, metadata)

    def error(self, count: int, exc: BaseException) -> None:
        """The error a cell raised (the recorder passes it on)."""
        lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
        kept: list[str] = []
        size = 0
        for line in reversed(lines):  # the end of a traceback says most
            if size + len(line) > MAX_OUTPUT_CHARS:
                kept.append(f"[{NOTE}: {len(lines) - len(kept)} earlier traceback lines left out]")
                self.truncated += 1
                break
            kept.append(line.rstrip("\n"))
            size += len(line)
        if not self._room(size):
            return
        self.outputs.setdefault(count, []).append({
            "output_type": "error", "ename": type(exc).__name__, "evalue": str(exc)[:MAX_OUTPUT_CHARS],
            "traceback": kept[::-1]})

    def cell_outputs(self, count: int) -> list[dict]:
        """The outputs of one cell as nbformat v4 outputs (with a note for any left out)."""
        out = []
        for o in self.outputs.get(count, ()):
            if o["output_type"] == "stream":
                text = "".join(o["text"]) + (_cut_note(o["cut"]) if o["cut"] else "")
                out.append({"output_type": "stream", "name": o["name"], "text": text})
            else:
                out.append({k: v for k, v in o.items() if k != "size"})
        dropped = self.dropped.get(count)
        if dropped:
            out.append({"output_type": "display_data", "metadata": {NOTE: {"dropped": dropped}},
                        "data": {"text/plain": f"[{NOTE}: {dropped} more output(s) left out: the "
                                 f"snapshot keeps {MAX_NOTEBOOK_CHARS:,} characters of outputs]"}})
        return out


def _cut_note(n: int) -> str:
    return f"\n[{NOTE}: {n:,} more characters left out of the snapshot (limits: " \
           f"{MAX_OUTPUT_CHARS:,} per output, {MAX_NOTEBOOK_CHARS:,} in all)]\n"
