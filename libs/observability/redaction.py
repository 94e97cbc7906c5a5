"""Secrets never reach a log: one redaction rule set shared by the log pipeline and callers.

Redacted: values wrapped in `Sensitive`, values under keys named like a secret
(password, token, secret, api_key, authorization, cookie, credential…), and bearer
credentials inside free text.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

REDACTED = "[REDACTED]"

_SECRET_KEY = re.compile(
    r"passw(or)?d|passwd|secret|token|api[_-]?key|authori[sz]ation|cookie|credential|"
    r"private[_-]?key|session[_-]?id",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_MAX_DEPTH = 6
EventDict = MutableMapping[str, Any]


class Sensitive:
    """A value that must never be shown: str()/repr() and every log line print [REDACTED].

    `type_text(text, sensitive=True)` wraps its text as `Sensitive(text)` before anything
    can log it; `.value` gives the real value to the code that needs it.
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return REDACTED

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __reduce__(self) -> Any:  # never pickled/serialized with its content
        return (Sensitive, (REDACTED,))


# Key classification is cached: log keys form a small, fixed set.
_key_cache: dict[str, bool] = {}


def is_secret_key(key: str) -> bool:
    hit = _key_cache.get(key)
    if hit is None:
        hit = bool(_SECRET_KEY.search(key))
        if len(_key_cache) < 4096:
            _key_cache[key] = hit
    return hit


def _may_hold_credentials(text: str) -> bool:
    """A cheap prefilter for `_BEARER` (which ignores case)."""
    low = text.lower()
    return "bearer" in low or "basic" in low


def _redacted_scheme(match: re.Match[str]) -> str:
    return f"{match.group(1)} {REDACTED}"


def scrub_text(text: str) -> str:
    """Hide bearer/basic credentials that slipped into free text (e.g. an error message)."""
    if _may_hold_credentials(text):
        return _BEARER.sub(_redacted_scheme, text)
    return text


def redact(value: Any, _depth: int = 0) -> Any:
    """A copy of `value` with every secret replaced by [REDACTED] (dicts, lists, metadata)."""
    if isinstance(value, Sensitive):
        return REDACTED
    if isinstance(value, str):
        return scrub_text(value)
    if _depth >= _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {
            k: (REDACTED if isinstance(k, str) and is_secret_key(k) else redact(v, _depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        # gRPC metadata is a sequence of (key, value) pairs: redact by key there too.
        if value and all(isinstance(p, tuple) and len(p) == 2 for p in value):
            return [
                (k, REDACTED if isinstance(k, str) and is_secret_key(k) else redact(v, _depth + 1))
                for k, v in value
            ]
        return [redact(v, _depth + 1) for v in value]
    return value


def redact_event(_logger: Any, _name: str, event: EventDict) -> EventDict:
    """The log chain's redaction processor: secret keys and `Sensitive` values become
    [REDACTED], bearer credentials in text are scrubbed, containers are redacted deeply.

    It runs on every line (the per-call access line too), so the common cases are inlined:
    numbers, booleans and None skip first, key classification is one cache lookup, and a
    string is searched with the regex only when it holds a credential scheme's letters."""
    cache = _key_cache
    for key, value in event.items():
        cls = value.__class__
        if cls in _PLAIN or value is None:
            continue
        secret = cache.get(key)
        if secret is None:
            secret = is_secret_key(key)
        if secret or cls is Sensitive:
            event[key] = REDACTED
        elif cls is str:
            if _may_hold_credentials(value):
                event[key] = _BEARER.sub(_redacted_scheme, value)
        elif isinstance(value, Sensitive):
            event[key] = REDACTED
        elif isinstance(value, (str, dict, list, tuple)):
            event[key] = redact(value)
    return event


_PLAIN = frozenset((int, float, bool))
