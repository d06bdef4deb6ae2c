"""Webhooks, as alert rules and registry event hooks use them: a URL checked when it is given,
shown only as `scheme://host[:port]`, and a JSON POST whose answer is kept without any of the
URL's path or query.

A webhook URL often is its own secret (chat webhooks carry it in the path), so it is stored
whole and used only to post: everything that returns or prints one (rules, hooks, errors,
the status of a post) shows `scheme://host[:port]`."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from .errors import MLOpsUsageError

WEBHOOK_TIMEOUT = 10.0
URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def shown_webhook(url: str | None) -> str | None:
    """What may be shown of a webhook URL: `scheme://host[:port]`, nothing of its user info,
    path or query (where the secret of most webhooks lives)."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return "(a URL that does not parse)"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme or '?'}://{host}" + (f":{port}" if port else "")


def scrub_urls(text: str) -> str:
    """`text` with every URL in it shown as `scheme://host[:port]`."""
    return URL.sub(lambda m: shown_webhook(m.group()) or "", text)


def _scrub(text: str, url: str) -> str:
    """`text` (an error from posting to `url`) without any part of the URL beyond its host:
    some errors quote the path alone."""
    parts = urlsplit(url)
    text = text.replace(url, shown_webhook(url) or "")
    secrets = [parts.path + (f"?{parts.query}" if parts.query else ""), parts.path, parts.query,
               parts.username, parts.password]
    for piece in sorted({p for p in secrets if p and len(p) > 1}, key=len, reverse=True):
        text = text.replace(piece, "…")
    return scrub_urls(text)


def check_webhook(url: Any) -> str:
    """The URL, if it is http(s) with a host; the refusal quotes none of it."""
    if not isinstance(url, str):
        raise MLOpsUsageError(f"webhook must be an http(s) URL, not a {type(url).__name__}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is no number raises here
    except ValueError:
        raise MLOpsUsageError("webhook must be an http(s) URL (https://host/…); this one does "
                              "not parse") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        what = (f"scheme {parts.scheme!r}" if parts.scheme not in ("http", "https")
                else "no host")
        raise MLOpsUsageError(f"webhook must be an http(s) URL (https://host/…), got one with "
                              f"{what}")
    return url


def post_json(url: str, body: dict[str, Any]) -> str:
    """POST `body` as JSON to `url`; the answer's status code, or `failed: why` with nothing of
    the URL beyond its host (at most 255 characters). Never raises."""
    request = urllib.request.Request(
        url, data=json.dumps(body, default=str).encode(), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "jupyter-mlops"})
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as reply:  # noqa: S310
            return f"{reply.status}"
    except Exception as exc:  # noqa: BLE001 - recorded where the post is, never raised
        return _scrub(f"failed: {exc}", url)[:255]
