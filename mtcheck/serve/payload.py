"""What a client may send to `POST /v1/check`, read and checked before anything waits for the model.

Every refusal is a `BadRequest` with the HTTP status and one line that says what to change.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

FORMATS = ("json", "languagetool")
_TRUE = ("", "1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_LANG = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*")
_MAX_ID = 200


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Query:
    format: str = "json"  # json | languagetool
    gate: bool = False


@dataclass(frozen=True)
class TextRequest:
    text: str
    title: str | None
    id: str
    source_lang: str | None


@dataclass(frozen=True)
class ItemsRequest:
    items: list  # as sent: strings, feed-item objects, anything else (an error entry in its place)
    source_lang: str | None


TEXT_FIELDS = ("text", "title", "id", "source_lang", "language")
ITEMS_FIELDS = ("items", "source_lang", "language")


def parse_query(query: str) -> Query:
    """`format=json|languagetool`, `gate=1|0` (a bare `gate` means 1); anything else is refused."""
    try:
        params = parse_qs(query, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(400, "malformed query string") from None
    fmt, gate = "json", False
    for name, values in params.items():
        if len(values) > 1:
            raise BadRequest(400, f"query parameter {name!r} given {len(values)} times")
        value = values[0].strip().lower()
        if name == "format":
            if value not in FORMATS:
                raise BadRequest(400, f"format={values[0]!r}: use format=json (the report) or format=languagetool")
            fmt = value
        elif name == "gate":
            if value not in _TRUE + _FALSE:
                raise BadRequest(400, f"gate={values[0]!r}: use gate=1 or gate=0")
            gate = value in _TRUE
        else:
            raise BadRequest(400, f"unknown query parameter {name!r} (known: format, gate)")
    return Query(fmt, gate)


def parse_body(body: bytes, max_items: int) -> TextRequest | ItemsRequest:
    try:
        raw = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(400, f"the request body is not UTF-8 (byte {exc.start})") from None
    try:
        data = json.loads(raw)
    except RecursionError:
        raise BadRequest(400, "malformed JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and a number too long to convert
        raise BadRequest(400, f"malformed JSON: {_one_line(str(exc))}") from None
    if not isinstance(data, dict):
        raise BadRequest(400, f"the request body must be a JSON object, not {_kind(data)}")
    has_text, has_items = "text" in data, "items" in data
    if has_text and has_items:
        raise BadRequest(400, "send either text or items, not both")
    if not has_text and not has_items:
        raise BadRequest(400, 'missing text: send {"text": "..."} or {"items": [...]}')
    known = TEXT_FIELDS if has_text else ITEMS_FIELDS
    unknown = sorted(k for k in data if k not in known)
    if unknown:
        raise BadRequest(
            400, f"unknown field {unknown[0]!r} (known with {'text' if has_text else 'items'}: {', '.join(known)})"
        )
    _check_language(data.get("language"))
    source_lang = _source_lang(data.get("source_lang"))
    if has_items:
        items = data["items"]
        if not isinstance(items, list):
            raise BadRequest(400, f"items must be a list, not {_kind(items)}")
        if not items:
            raise BadRequest(400, "items is empty: nothing to check")
        if len(items) > max_items:
            raise BadRequest(413, f"{len(items)} items: this server takes at most {max_items} a request (--max-items)")
        return ItemsRequest(items, source_lang)
    text = data["text"]
    if not isinstance(text, str):
        raise BadRequest(400, f"text must be a string, not {_kind(text)}")
    if not text.strip():
        raise BadRequest(400, "text is empty: nothing to check")
    title = data.get("title")
    if title is not None and not isinstance(title, str):
        raise BadRequest(400, f"title must be a string, not {_kind(title)}")
    ident = data.get("id", "text")
    if isinstance(ident, bool) or not isinstance(ident, (str, int)):
        raise BadRequest(400, f"id must be a string, not {_kind(ident)}")
    ident = str(ident)
    if not ident.strip() or len(ident) > _MAX_ID or not ident.isprintable():
        raise BadRequest(400, f"id must be 1 to {_MAX_ID} printable characters")
    return TextRequest(text, title if title and title.strip() else None, ident, source_lang)


def _source_lang(value: Any) -> str | None:
    """A language code (`ro`, `zh-Hans`, `RU`) as its primary subtag in lower case."""
    if value is None:
        return None
    if not isinstance(value, str) or not (m := _LANG.fullmatch(value.strip())):
        raise BadRequest(400, f"source_lang must be a language code such as ro or zh, not {_shown(value)}")
    return m.group(1).lower()


def _check_language(value: Any) -> None:
    """`language`, as LanguageTool clients send it: English (or auto) is all this checker reads."""
    if value is None:
        return
    if not isinstance(value, str) or not (value.strip().lower() == "auto" or value.strip().lower()[:2] == "en"):
        raise BadRequest(400, f"language {_shown(value)}: mtcheck checks English text only (en, en-US, auto)")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _one_line(text: str) -> str:
    return " ".join(text.split())
