"""Inside a replay's kernel: which run the replay starts is the reproduction and which are
earlier runs of the session replayed on the way there, from what the replay tells the kernel
in its environment (see replay.py).

The reproduction run is the first top-level run started in one of the original run's cells
(`MLOPS_REPRODUCE_CELLS`, the snapshot's cell ids); a snapshot's cells replayed in order in a
fresh kernel get the execution counts, and so the ids, they have in the snapshot
(`cells.current_cell_id`). Every run the replay starts carries `mlops.reproduction`; the
reproduction run also `mlops.reproduces` and a lineage link to the original, the others
`mlops.replay_of` (the replay archives them when it ends). Runs nested in the reproduction
run are part of it and get nothing."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

REPRODUCES = "MLOPS_REPRODUCES"
REPRODUCTION = "MLOPS_REPRODUCTION"
CELLS = "MLOPS_REPRODUCE_CELLS"
ROLE = "reproduces"  # the lineage link's role, on the reproduction run's inputs

_reproduction: list[str] = []  # the reproduction run's id, once started in this kernel


@dataclass(frozen=True)
class Marks:
    tags: dict[str, str] = field(default_factory=dict)
    link: str | None = None  # the original run's reference, for the reproduction run


def replaying() -> bool:
    return bool(os.environ.get(REPRODUCES))


def for_new_run(parent_id: str | None) -> Marks:
    """What a run about to start in a replay carries."""
    from ..tracking.cells import current_cell_id

    original = os.environ[REPRODUCES]
    ours = {"mlops.reproduction": os.environ.get(REPRODUCTION, "")}
    if parent_id is not None and parent_id in _reproduction:
        return Marks()
    cells = {c for c in os.environ.get(CELLS, "").split(",") if c}
    if parent_id is None and not _reproduction and current_cell_id() in cells:
        return Marks({**ours, "mlops.reproduces": original}, f"run:{original}")
    return Marks({**ours, "mlops.replay_of": original})


def started(run_id: str, marks: Marks) -> None:
    """Remember the reproduction run once it is in the store."""
    if marks.link is not None:
        _reproduction.append(run_id)
