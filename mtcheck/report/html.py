"""Self-contained HTML views of ``mtcheck.report/1`` reports (see docs/report-schema.md).

``render_article`` turns one `Report` into a single HTML page (mtcheck/report/html_article.py);
``render_index`` renders the table of all articles of a run (html_index.py). Both pages carry their CSS and
JS inline, from the files in mtcheck/report/assets/, load nothing from the network and work when opened from
``file://``.

Everything that comes from the article (text, title, path, reasons, suggestions) is untrusted: it is
HTML-escaped where it is written into markup, and the JSON the page script reads is embedded in a
``<script type="application/json">`` element with ``<``, ``>``, ``&`` and U+2028/U+2029 escaped, so no
article content can close that element. A Content-Security-Policy that allows only the page's own
script (by hash) is a second line of defence (html_common.py).
"""

from __future__ import annotations

from mtcheck.report.html_article import render_article
from mtcheck.report.html_index import render_index

__all__ = ["render_article", "render_index"]
