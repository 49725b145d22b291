"""What the article page and the index page share: escaping, number formatting, the fluency colour scale,
the page frame with its Content-Security-Policy, and the CSS/JS assets (mtcheck/report/assets/)."""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
import math
import re
from importlib.resources import files

# Fluency buckets (ColorBrewer RdYlBu, colour-blind safe): class suffix, lower bound, label.
FLUENCY_BUCKETS = (
    ("f0", 0.0, "below 40"),
    ("f1", 40.0, "40–55"),
    ("f2", 55.0, "55–70"),
    ("f3", 70.0, "70–85"),
    ("f4", 85.0, "85 and above"),
)
_SAFE_SCHEMES = ("http", "https", "file")


# --- assets -------------------------------------------------------------------------------------


@functools.cache
def asset(name: str) -> str:
    """One file of mtcheck/report/assets/, exactly as it is on disk (package data, read once)."""
    return (files("mtcheck.report") / "assets" / name).read_bytes().decode("utf-8")


def inline(*names: str) -> str:
    """Assets for one inline <style> or <script> element, each starting on a new line."""
    return "".join("\n" + asset(name) for name in names)


# --- small helpers ------------------------------------------------------------------------------


def e(value: object) -> str:
    """Escape any value for HTML text and (double-quoted) attribute context."""
    return html.escape("" if value is None else str(value), quote=True)


def json_for_script(data: object) -> str:
    """JSON that is safe inside ``<script type="application/json">`` (cannot close the element)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, default=str)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def csp(script: str) -> str:
    """The page's Content-Security-Policy: only `script`, the page's one inline script, may run (by hash)."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; "
        f"script-src 'sha256-{digest}'; "
        # the review server's decisions API (same origin); nothing else can be fetched
        "connect-src 'self'; "
        "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    )


def num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return float(value)


def fmt(value: object, digits: int = 1) -> str:
    number = num(value)
    if number is None:
        return "–"
    if float(number).is_integer() and digits == 0:
        return str(int(number))
    return f"{number:.{digits}f}"


def as_int(value: object) -> int:
    number = num(value)
    return int(number) if number is not None else 0


def fluency_class(fluency: object) -> str:
    number = num(fluency)
    if number is None:
        return "fna"
    cls = FLUENCY_BUCKETS[0][0]
    for name, lower, _label in FLUENCY_BUCKETS:
        if number >= lower:
            cls = name
    return cls


def safe_href(url: object) -> str | None:
    if not isinstance(url, str) or not url.strip():
        return None
    match = re.match(r"\s*([a-zA-Z][a-zA-Z0-9+.\-]*):", url)
    if match and match.group(1).lower() not in _SAFE_SCHEMES and len(match.group(1)) > 1:
        return None  # javascript:, data:, vbscript: ... (one letter = Windows drive "C:")
    return url


def page(title: str, body: str, css: str, script: str, extra_head: str = "") -> str:
    """A whole HTML document; `script` is its one inline script, the only one its CSP lets run."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp(script)}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{e(title)}</title>\n<style>{css}</style>\n{extra_head}</head>\n"
        f"<body>\n{body}\n<script>{script}</script>\n</body>\n</html>\n"
    )
