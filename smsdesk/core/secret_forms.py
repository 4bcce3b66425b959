"""Removing an API key from text a provider (or a proxy in between) sent back.

A server that echoes the request's ``Authorization`` header may quote the key as sent, base64
encoded (Basic auth), URL-encoded or JSON-escaped. Every such form is removed before anything
else touches the text: masking phone-number-like digit runs first would split a key such as
``003026bbc133714df1834b8638bb496e-…`` into pieces no longer equal to the key.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "…"
# Shorter strings are no real key, and replacing them would garble ordinary words.
_SHORTEST = 4
# Header schemes whose credential is worth naming on its own ("App <key>", "Bearer <key>").
_SCHEMES = ("app ", "bearer ", "basic ", "token ")


def _credentials(secret: str, header_values: Iterable[str]) -> set[str]:
    found = {secret}
    for value in header_values:
        found.add(value)
        lowered = value.lower()
        for scheme in _SCHEMES:
            if lowered.startswith(scheme):
                token = value[len(scheme) :].strip()
                found.add(token)
                if scheme == "basic ":
                    # Not base64 after all: the token itself is enough.
                    with contextlib.suppress(ValueError):
                        found.add(base64.b64decode(token, validate=True).decode())
    return {c for c in found if c}


def _encodings(text: str) -> set[str]:
    raw = text.encode()
    forms = {text, quote(text, safe=""), quote_plus(text), json.dumps(text)[1:-1]}
    forms.add(text.replace("/", "\\/"))
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        decoded = encoded.decode()
        forms |= {decoded, decoded.rstrip("=")}
    forms |= {f.lower() for f in forms if "%" in f}  # percent escapes in lower-case hex
    return {f for f in forms if len(f) >= _SHORTEST}


def secret_forms(secret: str, header_values: Iterable[str] = ()) -> tuple[str, ...]:
    """Every form of the key (and of the auth headers carrying it), longest first, so a whole
    header is removed before its parts."""
    forms: set[str] = set()
    for credential in _credentials(secret, header_values):
        forms |= _encodings(credential)
    return tuple(sorted(forms, key=len, reverse=True))


def remove_secrets(text: str, forms: Iterable[str]) -> str:
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    return text


def remove_secrets_bytes(body: bytes, forms: Iterable[str]) -> bytes:
    mask = MASK.encode()
    for form in forms:
        encoded = form.encode()
        if encoded in body:
            body = body.replace(encoded, mask)
    return body
