"""The scoring server: `jupyter mlops serve NAME@ALIAS`, a FastAPI app on uvicorn.

    POST /invocations   the request formats of `mlflow models serve`; {"predictions": [...]}
    GET  /health        (and /ping) the version being served
    GET  /metadata      name, version, digest, signature, the reference followed, and the
                        version it refused to serve, if any

A server started on an alias (or @latest) follows it: a background thread looks the alias up
every `poll_interval` seconds and, when it moved, loads the new version (its hash checked)
and swaps it in between requests, so no restart is needed. A version that cannot be served
(a pickle model without the allow_pickle setting, skops types the project does not trust, a
failed load) is refused: the previous one keeps serving, one log line says why, and
/metadata shows it under "refused" until the alias moves again. The same thread writes the
monitoring sample (samples.py). Only `jupyter mlops serve` imports this module (and FastAPI)."""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ..config import redact
from ..errors import MLOpsError, MLOpsUsageError, NotFoundError
from ..registry.signature import SignatureError
from ..registry.versions import ModelVersion, get_model_version, parse_model_ref
from .payload import parse_body, predictions_json
from .samples import Sampler

log = logging.getLogger("jupyter_mlops.serving")
INLINE_BYTES = 16 * 1024  # smaller bodies are scored on the event loop: no thread hop


def _why(exc: Exception) -> str:
    """Why a version could not be loaded, in one line without secrets."""
    text = str(exc) if isinstance(exc, MLOpsError) else f"{type(exc).__name__}: {exc}"
    return redact(" ".join(text.split()))


class ModelHandle:
    """The model a reference names, swapped for the new version when its alias moves; a
    version that cannot be served is refused (`.refused`) and the previous one stays."""

    def __init__(self, ref: str):
        parsed = parse_model_ref(ref)
        self.ref = ref
        self.name = parsed.name
        self.follows = parsed.version is None and parsed.digest is None
        self.refused: dict[str, Any] | None = None
        version = get_model_version(ref)
        try:
            model = version.load()
        except Exception as exc:  # nothing servable: refuse to start, in one line
            raise MLOpsError(f"cannot serve {ref}: {_why(exc)}") from None
        self._state: tuple[ModelVersion, Any] = (version, model)

    def current(self) -> tuple[ModelVersion, Any]:
        return self._state  # one tuple, replaced whole: readers never see a half swap

    def refresh(self) -> bool:
        """Load the version the reference names now, if it changed; True when swapped. A
        version that cannot be loaded is refused once (logged) and not retried until the
        alias moves again."""
        if not self.follows:
            return False
        version = get_model_version(self.ref)
        if version.version == self._state[0].version:
            self.refused = None
            return False
        if self.refused is not None and self.refused["version"] == version.version:
            return False
        try:
            model = version.load()
        except Exception as exc:
            self.refused = {"version": version.version, "ref": version.ref, "reason": _why(exc)}
            log.warning("%s moved to %s, which is not served: %s; still serving %s", self.ref,
                        version.ref, self.refused["reason"], self._state[0].ref)
            return False
        self._state, self.refused = (version, model), None
        log.warning("%s moved: now serving %s", self.ref, version.ref)
        return True


def create_app(ref: str, sample_rate: float = 0.1, poll_interval: float = 1.0,
               sample_interval: float = 60.0) -> FastAPI:
    """The scoring app for `ref` (loaded now, so a bad reference fails before serving)."""
    from contextlib import asynccontextmanager

    handle = ModelHandle(ref)
    sampler = Sampler(handle.name, sample_rate, interval=sample_interval)
    stop = threading.Event()

    def maintain() -> None:
        while not stop.wait(poll_interval):
            try:
                handle.refresh()
            except NotFoundError as exc:
                log.warning("%s: %s; still serving %s", ref, exc, handle.current()[0].ref)
            except Exception as exc:  # the store is away: keep serving what is loaded
                log.warning("could not check %s: %s", ref, exc)
            if sampler.due():
                _flush(sampler)

    @asynccontextmanager
    async def lifespan(app):
        worker = threading.Thread(target=maintain, name="mlops-serving", daemon=True)
        worker.start()
        yield
        stop.set()
        worker.join(timeout=poll_interval + 5)
        _flush(sampler)

    app = FastAPI(title=f"jupyter-mlops: {ref}", lifespan=lifespan)
    app.state.handle, app.state.sampler = handle, sampler

    def score(body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
        """(status, response body) for one request: parse, check, predict, sample."""
        version, model = handle.current()
        signature = version.signature
        try:
            frame = parse_body(body, content_type, signature.columns if signature else None)
            if signature is not None:
                frame = signature.check(frame)
        except SignatureError as exc:
            return 422, {"error": str(exc), "detail": exc.detail}
        except MLOpsUsageError as exc:
            return 400, {"error": str(exc)}
        try:
            predictions = predictions_json(model.predict(frame))
        except (ValueError, TypeError, KeyError) as exc:
            return 422, {"error": f"{version.ref} could not score this input: {exc}"}
        except Exception as exc:
            log.exception("scoring failed")
            return 500, {"error": f"{version.ref} failed: {type(exc).__name__}: {exc}"}
        sampler.add(version.version, frame, predictions)
        return 200, {"predictions": predictions}

    @app.post("/invocations")
    async def invocations(request: Request):
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        if len(body) <= INLINE_BYTES:
            status, answer = score(body, content_type)
        else:  # parsing and checking a large body would hold up every other request
            status, answer = await run_in_threadpool(score, body, content_type)
        return answer if status == 200 else JSONResponse(answer, status_code=status)

    @app.get("/health")
    @app.get("/ping")
    async def health():
        version, _ = handle.current()
        return {"status": "ok", "model": version.name, "version": version.version}

    @app.get("/metadata")
    async def metadata():
        version, _ = handle.current()
        return {**version.to_dict(), "serving": ref, "follows_alias": handle.follows,
                "refused": handle.refused}

    return app


def _flush(sampler: Sampler) -> None:
    try:
        sampler.flush()
    except Exception as exc:  # monitoring must never take the server down
        log.warning("could not store the monitoring sample: %s", exc)


def serve(ref: str, host: str = "127.0.0.1", port: int = 5000, sample_rate: float = 0.1,
          poll_interval: float = 1.0, sample_interval: float = 60.0) -> None:
    """Run the scoring server for `ref` until interrupted."""
    import uvicorn

    app = create_app(ref, sample_rate, poll_interval, sample_interval)
    version = app.state.handle.current()[0]
    follows = f" (following {ref})" if app.state.handle.follows else ""
    print(f"serving {version.ref}{follows} on http://{host}:{port}/invocations", file=sys.stderr,
          flush=True)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
