"""Every Python example in README.md and docs/*.md runs as written, magics included.

The blocks of one document run in order as the cells of one notebook: one IPython
InteractiveShell (`run_cell`, history kept, as a kernel runs a cell), started in a fresh
project folder with nothing loaded, so `%load_ext jupyter_mlops` is typed by the document
itself and later blocks use names from earlier ones. A block fails when its cell raises (a
magic's UsageError included), when a magic reports a soft error (a line starting with
`jupyter-mlops` on stdout or stderr: `magics/base.py` prints the store's refusals and our own
failures that way instead of raising) or when jupyter-mlops warns. A document fails when a run
or pipeline run it made did not finish (a pipeline whose step failed returns normally).

The grammar of the Markdown (CommonMark, parsed with markdown-it-py):
- a fence ```python runs; fences in NOT_RUN_LANGUAGES (shell commands, synopses, output,
  configuration) do not; any other info string, or none, is an error, so a mis-tagged
  example (```py, ```Python, a bare fence) cannot be skipped silently;
- `<!-- docs-test: no-run REASON -->` on the line above a ```python fence keeps that block
  from running, with the reason in the source (readers do not see it);
- `<!-- docs-test: setup REASON` + lines of Python + `-->` is a hidden cell run at that place
  (for what an example assumes but does not show, such as notebooks in the project);
- a block whose first line is `# in NAME.ipynb` is a cell of that notebook: the shell's
  `__session__` names it (as JupyterLab's kernel does) for that block only;
- indented code blocks are refused (a hidden example), and so is a `docs-test` comment that
  does not parse or is not followed by a fence.
EXPECTED holds each document's number of run, not-run and setup blocks, so an example that
disappears from the run (or a new one) is seen.

Why not pytest-markdown-docs: it executes each block as plain Python (no IPython, so no
magics), shares names across blocks only when each one is tagged `continuation`, and counts
nothing; our examples are notebook cells, so a small collector over a real parser fits.
"""

from __future__ import annotations

import atexit
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("docs/*.md"))]

RUN_LANGUAGES = {"python"}
# shell commands and their output, command synopses, configuration files: shown, not run
NOT_RUN_LANGUAGES = {"bash", "console", "text", "yaml", "toml", "json"}

# document: (blocks run, blocks marked no-run, hidden setup blocks)
EXPECTED = {
    "README.md": (17, 0, 1),
    "docs/automl.md": (2, 0, 0),
    "docs/data.md": (0, 0, 0),
    "docs/drift.md": (3, 0, 1),
    "docs/features.md": (5, 0, 0),
    "docs/mlflow.md": (6, 0, 0),
    "docs/models.md": (0, 0, 0),
    "docs/pipelines.md": (0, 0, 0),
    "docs/scale.md": (2, 2, 0),
    "docs/sidebar.md": (0, 0, 0),
    "docs/team.md": (1, 1, 0),
    "docs/tracking.md": (3, 0, 1),
}

DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(?P<verb>[\w-]+)(?P<reason>[^\n]*?)\s*(?:-->)?\s*$")
NOTEBOOK = re.compile(r"#\s*in\s+(?P<path>[\w./-]+\.ipynb)\s*$")
SOFT_ERROR = re.compile(r"^jupyter-mlops\b", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    """One fence (or hidden setup) of a document, in document order."""

    line: int  # 1-based line of the fence in the document
    kind: str  # "run", "no-run", "setup" or "shown" (a language that is not run)
    code: str
    reason: str = ""

    @property
    def notebook(self) -> str | None:
        first = self.code.lstrip().split("\n", 1)[0]
        match = NOTEBOOK.match(first)
        return match["path"] if match else None


def collect(doc: str, root: Path = ROOT) -> list[Block]:
    """The blocks of `doc` (a path under `root`), every fence accounted for; raises ValueError
    on a fence or a docs-test comment the grammar does not allow."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse((root / doc).read_text())
    blocks: list[Block] = []
    pending: tuple[int, str] | None = None  # a no-run mark waiting for its fence
    for token in tokens:
        line = token.map[0] + 1 if token.map else 0
        where = f"{doc}:{line}"
        if pending is not None and token.type != "fence":
            raise ValueError(f"{doc}:{pending[0]}: the no-run mark is not followed by a fence")
        if token.type == "code_block":
            raise ValueError(f"{where}: an indented code block; fence it with a language")
        if token.type == "html_block" and "docs-test" in token.content:
            first, _, body = token.content.partition("\n")
            match = DIRECTIVE.match(first.strip())
            if not match or match["verb"] not in ("no-run", "setup"):
                raise ValueError(f"{where}: a docs-test comment must be "
                                 f"'<!-- docs-test: no-run REASON -->' or "
                                 f"'<!-- docs-test: setup REASON' + code + '-->', got {first!r}")
            reason = match["reason"].strip()
            if not reason:
                raise ValueError(f"{where}: docs-test: {match['verb']} needs a reason")
            if match["verb"] == "no-run":
                if "-->" not in first:
                    raise ValueError(f"{where}: a no-run mark is one line")
                pending = (line, reason)
            else:
                code = body.rsplit("-->", 1)[0]
                if not code.strip():
                    raise ValueError(f"{where}: a setup comment holds no code")
                blocks.append(Block(line, "setup", code, reason))
            continue
        if token.type != "fence":
            continue
        language = token.info.split()[0] if token.info.strip() else ""
        if pending is not None:
            if language not in RUN_LANGUAGES:
                raise ValueError(f"{doc}:{pending[0]}: a no-run mark above a {language!r} fence, "
                                 f"which does not run anyway")
            blocks.append(Block(line, "no-run", token.content, pending[1]))
            pending = None
        elif language in RUN_LANGUAGES:
            if token.info.strip() != language:
                raise ValueError(f"{where}: ```{token.info.strip()}: mark a block that does not "
                                 f"run with '<!-- docs-test: no-run REASON -->' above it")
            blocks.append(Block(line, "run", token.content))
        elif language in NOT_RUN_LANGUAGES:
            blocks.append(Block(line, "shown", token.content))
        else:
            raise ValueError(f"{where}: fence language {language or '(none)'!r} is neither run "
                             f"({', '.join(sorted(RUN_LANGUAGES))}) nor in NOT_RUN_LANGUAGES "
                             f"({', '.join(sorted(NOT_RUN_LANGUAGES))})")
    if pending is not None:
        raise ValueError(f"{doc}:{pending[0]}: the no-run mark is not followed by a fence")
    return blocks


def counts(blocks: list[Block]) -> tuple[int, int, int]:
    return tuple(sum(b.kind == kind for b in blocks) for kind in ("run", "no-run", "setup"))


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_every_fence_is_accounted_for(doc):
    assert doc in EXPECTED, f"{doc} is new: add its block counts to EXPECTED"
    assert counts(collect(doc)) == EXPECTED[doc]


def test_the_grammar_refuses_what_would_skip_an_example(tmp_path):
    cases = {
        "```py\nx = 1\n```\n": "fence language 'py'",
        "```Python\nx = 1\n```\n": "fence language 'Python'",
        "```\n%track list\n```\n": "fence language '(none)'",
        "```python notest\nx = 1\n```\n": "mark a block that does not run",
        "    import jupyter_mlops\n": "indented code block",
        "<!-- docs-test: no-run -->\n```python\nx = 1\n```\n": "needs a reason",
        "<!-- docs-test: no-run a cluster -->\n\ntext\n": "not followed by a fence",
        "<!-- docs-test: no-run a cluster -->\n```bash\nls\n```\n": "does not run anyway",
        "<!-- docs-test: skip why -->\n```python\nx = 1\n```\n": "must be",
        "<!-- docs-test: setup why\n-->\n": "holds no code",
    }
    for text, message in cases.items():
        (tmp_path / "doc.md").write_text(text)
        with pytest.raises(ValueError, match=re.escape(message)):
            collect("doc.md", tmp_path)
    (tmp_path / "doc.md").write_text(
        "```python\n# in train.ipynb\nx = 1\n```\n"
        "<!-- docs-test: no-run needs a cluster -->\n```python\nconnect()\n```\n"
        "<!-- docs-test: setup a notebook the example assumes\nopen('a.ipynb', 'w')\n-->\n"
        "- a list\n\n  ```console\n  $ jupyter mlops runs list\n  ```\n")
    blocks = collect("doc.md", tmp_path)
    assert [(b.kind, b.line, b.reason) for b in blocks] == [
        ("run", 1, ""), ("no-run", 6, "needs a cluster"),
        ("setup", 9, "a notebook the example assumes"), ("shown", 14, "")]
    assert blocks[0].notebook == "train.ipynb" and blocks[1].notebook is None
    assert blocks[2].code == "open('a.ipynb', 'w')\n"


@pytest.fixture
def shell(project, tmp_path, monkeypatch):
    """A fresh InteractiveShell in the project folder, jupyter_mlops not loaded, plotly
    rendering its mimetype as in JupyterLab (never a browser). Native thread pools (OpenMP,
    BLAS) keep one thread, here and in the kernels of pipeline steps: on a shared CI machine
    their spinning threads made one histogram gradient boosting trial 30 times slower."""
    import plotly.io as pio
    from IPython.core.interactiveshell import InteractiveShell
    from threadpoolctl import threadpool_limits
    from traitlets.config import Config

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setattr(pio.renderers, "default", "plotly_mimetype")
    InteractiveShell.clear_instance()
    cfg = Config()
    cfg.HistoryManager.hist_file = ":memory:"
    cfg.InteractiveShell.colors = "nocolor"  # tracebacks in a failure message stay readable
    ip = InteractiveShell.instance(config=cfg)
    with threadpool_limits(limits=1):
        yield ip
    from jupyter_mlops.tracking import fluent

    while fluent.active_run() is not None:
        fluent.end_run()
    atexit.unregister(ip.atexit_operations)
    InteractiveShell.clear_instance()


def ours(warning: warnings.WarningMessage) -> bool:
    return (type(warning.message).__module__.startswith("jupyter_mlops")
            or f"{os.sep}jupyter_mlops{os.sep}" in warning.filename)


def run_block(ip, doc: str, block: Block, project: Path) -> None:
    """Run one block as a cell; fail with its output when it raised, a magic reported an
    error, or jupyter-mlops warned (an example should not teach a warning)."""
    from IPython.utils.capture import capture_output

    notebook = block.notebook
    if notebook is not None:
        ip.user_ns["__session__"] = str(project / notebook)
    try:
        with capture_output() as out, warnings.catch_warnings(record=True) as caught:
            result = ip.run_cell(block.code, store_history=True)
    finally:
        ip.user_ns.pop("__session__", None)
    text = out.stdout + out.stderr
    error = result.error_before_exec or result.error_in_exec
    warned = [f"{w.category.__name__}: {w.message}" for w in caught if ours(w)]
    if error is not None or SOFT_ERROR.search(text) or warned:
        why = repr(error) if error is not None else "; ".join(warned) or "a magic's error line"
        pytest.fail(f"{doc}:{block.line} ({block.kind} block) failed: {why}\n"
                    f"--- code\n{block.code}--- output\n{text[-4000:]}", pytrace=False)


def unfinished() -> list[str]:
    """The runs and pipeline runs in the store that did not finish: an example whose pipeline
    step failed returns normally, so the store is asked."""
    from sqlalchemy import select

    from jupyter_mlops import flush
    from jupyter_mlops.store import get_store
    from jupyter_mlops.store.tables import pipeline_runs, runs

    flush()
    with get_store().read() as conn:
        found = [f"run {r.name} {r.id[:8]}: {r.status} {r.error or ''}" for r in conn.execute(
            select(runs.c.id, runs.c.name, runs.c.status, runs.c.error)
            .where(runs.c.status != "finished"))]
        found += [f"pipeline run {r.pipeline} {r.id[:8]}: {r.status} {r.error or ''}"
                  for r in conn.execute(select(pipeline_runs.c.id, pipeline_runs.c.pipeline,
                                               pipeline_runs.c.status, pipeline_runs.c.error)
                                        .where(pipeline_runs.c.status != "finished"))]
    return found


@pytest.mark.slow
@pytest.mark.parametrize("doc", [d for d in DOCUMENTS if sum(EXPECTED.get(d, ()))])
def test_examples_run(doc, shell, project):
    for block in collect(doc):
        if block.kind in ("run", "setup"):
            run_block(shell, doc, block, project)
        elif block.kind == "no-run":  # not run, but still a cell IPython can read
            try:
                compile(shell.transform_cell(block.code), f"{doc}:{block.line}", "exec")
            except SyntaxError as exc:
                pytest.fail(f"{doc}:{block.line} (no-run block): {exc}", pytrace=False)
    assert unfinished() == [], f"{doc}: its examples left work that did not finish"


MODEL = ("%load_ext jupyter_mlops\n"
         "from sklearn.dummy import DummyClassifier\n"
         "model = DummyClassifier().fit([[0], [1]], [0, 1])\n")


@pytest.mark.parametrize(("code", "why"), [
    (MODEL + "%register model --name m --signature model\n", "UsageError"),
    (MODEL + "%register model --name m\n", "UserWarning: model 'm' has no signature"),
    (MODEL + "import warnings\n"
             "warnings.filterwarnings('ignore', message='.*no signature')\n"
             "%register model --name m\n"
             "%register promote m 1 --alias production --require 'metrics.f1 > 0.5'\n",
     "a magic's error line"),
    ("import jupyter_mlops as mlops\nmlops.load_dataset('nosuch@1')\n", "NotFoundError"),
    ("undefined_name\n", "NameError"),
], ids=["usage-error", "our-warning", "soft-error", "exception", "name-error"])
def test_a_block_fails_when_its_cell_or_a_magic_reports_an_error(shell, project, code, why):
    with pytest.raises(pytest.fail.Exception, match=re.escape(f"doc.md:3 (run block) failed: {why}")):
        run_block(shell, "doc.md", Block(3, "run", code), project)


def test_work_that_did_not_finish_is_found(shell, project):
    code = ("import jupyter_mlops as mlops\n"
            "try:\n"
            "    with mlops.start_run(name='broken'):\n"
            "        raise ValueError('no data')\n"
            "except ValueError:\n"
            "    pass\n")
    run_block(shell, "doc.md", Block(1, "run", code), project)
    assert [line.split()[:2] for line in unfinished()] == [["run", "broken"]]
