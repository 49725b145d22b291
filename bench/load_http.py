"""Load test of `mtcheck serve`: many clients posting news articles at once, through the real server.

    .venv/bin/python bench/load_http.py [--requests 200] [--clients 8] [--words 300] [--format json|languagetool]
                                        [--server-args "--no-corrections ..."] [--url URL --token TOKEN]

Starts `mtcheck serve --port 0 --quiet` (plus --server-args) as a subprocess and waits for its address (the model
loaded), unless --url names a server already running. The texts are English-original news
(../shared/eval/articles/enorig.dev.jsonl, `text`, the 33 articles in a row), each about --words words from a
sentence start to a sentence end, the starts spread evenly over the articles: no two requests send the same text.
One warm-up request goes first (the first check loads the corrector's lazy parts) and is reported apart.
--clients threads then post --requests requests in all over urllib, one at a time each, and the script prints the
server's settings, the errors (any answer but 200 with a report, by status), the latency p50/p95/max from
sending to the whole answer read, requests per second and words per second over the wall time.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import statistics
import string
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtcheck.evaluate.data import default_eval_dir  # noqa: E402

_STARTS = set(string.ascii_uppercase + string.digits + "\"“‘'")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]?$")


def texts(n: int, words: int) -> list[str]:
    """`n` different texts of about `words` words from the English-original news articles, paragraphs kept: the
    articles in a row, each text starting at a sentence start spread evenly over them (running on into the next
    article where one ends, the last into the first)."""
    path = default_eval_dir() / "articles" / "enorig.dev.jsonl"
    with open(path, encoding="utf-8") as f:
        articles = [json.loads(line)["text"] for line in f if line.strip()]
    # each word with the space (or paragraph break) after it; an article ends with a paragraph break
    stream = [t for a in articles for t in re.findall(r"\S+\s*", a.strip() + "\n\n")]
    starts = [0] + [k + 1 for k, t in enumerate(stream[:-1]) if _ends(t) and stream[k + 1][0] in _STARTS]
    out = []
    for i in range(n):
        start = starts[(i * len(starts)) // n % len(starts)]
        window = (stream[start:] + stream)[:words]
        ends = [k for k, t in enumerate(window) if _ends(t)]
        if ends and ends[-1] + 1 >= 0.8 * len(window):  # end on a sentence when that keeps most of the words
            window = window[: ends[-1] + 1]
        out.append("".join(window).strip())
    return out


def _ends(token: str) -> bool:
    return bool(_SENTENCE_END.search(token.strip()))


def start_server(extra: list[str]) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "mtcheck", "serve", "--port", "0", "--quiet", *extra]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"serving (http://\S+/)", line)
    if not m:
        proc.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return proc, m.group(1)


def post(url: str, body: dict, token: str | None, fmt: str, timeout: float) -> tuple[int | str, float]:
    """(status, seconds); status 200 only when the answer is the expected JSON."""
    data = json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    query = "?format=languagetool" if fmt == "languagetool" else ""
    request = urllib.request.Request(f"{url}v1/check{query}", data=data, headers=headers, method="POST")
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            answer = json.loads(resp.read())
            status: int | str = resp.status
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code, time.perf_counter() - start
    except Exception as exc:  # noqa: BLE001 - a load test counts every failure, whatever it is
        return type(exc).__name__, time.perf_counter() - start
    seconds = time.perf_counter() - start
    if ("matches" if fmt == "languagetool" else "report") not in answer:
        status = "bad-answer"
    return status, seconds


def get(url: str, path: str, token: str | None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url + path, headers=headers), timeout=60) as resp:
        return json.loads(resp.read())


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1))
    return ordered[int(k)]


@click.command()
@click.option("--requests", "n", default=200, show_default=True, help="Requests in all (after the warm-up).")
@click.option("--clients", default=8, show_default=True, help="Client threads posting at once.")
@click.option("--words", default=300, show_default=True, help="About this many words a request.")
@click.option("--format", "fmt", type=click.Choice(["json", "languagetool"]), default="json", show_default=True)
@click.option("--server-args", default="", help="More arguments for `mtcheck serve` (one string).")
@click.option("--url", default=None, help="A server already running (e.g. http://127.0.0.1:8765/): start none.")
@click.option("--token", envvar="MTCHECK_TOKEN", default=None, help="Its token, if it needs one.")
@click.option("--client-timeout", default=1800.0, show_default=True, help="Seconds a client waits for an answer.")
def main(
    n: int,
    clients: int,
    words: int,
    fmt: str,
    server_args: str,
    url: str | None,
    token: str | None,
    client_timeout: float,
) -> None:
    bodies = [{"text": t, "id": f"bench-{i}"} for i, t in enumerate(texts(n + 1, words))]
    sizes = [len(b["text"].split()) for b in bodies[1:]]
    proc = None
    started = time.perf_counter()
    if url is None:
        proc, url = start_server(shlex.split(server_args))
    url = url if url.endswith("/") else url + "/"
    try:
        if proc is not None:
            print(f"server: started in {time.perf_counter() - started:.1f} s at {url}")
        version = get(url, "version", token)
        model = version["model"]
        print(
            f"server: mtcheck {version['mtcheck']}, model {model['name']}@{str(model['sha256'])[:12]} "
            f"on {model.get('device')} ({model.get('precision')}), limits {json.dumps(version['limits'])}"
            f"{', args ' + server_args if server_args else ''}"
        )
        print(f"server: signature {version['signature']}")
        print(
            f"client: {n} requests, {clients} clients, {statistics.mean(sizes):.0f} words a request "
            f"({min(sizes)}-{max(sizes)}), format {fmt}, {os.cpu_count()} CPU cores here"
        )
        status, seconds = post(url, bodies[0], token, fmt, client_timeout)
        print(f"warm-up: {status} in {seconds:.2f} s")

        results: list[tuple[int | str, float] | None] = [None] * n
        lock = threading.Lock()
        next_index = iter(range(n))

        def client() -> None:
            while True:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                results[i] = post(url, bodies[i + 1], token, fmt, client_timeout)

        wall = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - wall
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()

    done = [r for r in results if r is not None]
    errors = Counter(str(s) for s, _ in done if s != 200)
    latencies = [sec for _s, sec in done]
    print(f"errors: {sum(errors.values())}" + (f" ({dict(errors)})" if errors else ""))
    print(
        f"latency: p50 {percentile(latencies, 50):.2f} s, p95 {percentile(latencies, 95):.2f} s, "
        f"max {max(latencies):.2f} s, mean {statistics.mean(latencies):.2f} s"
    )
    print(
        f"throughput: {n / wall:.2f} requests/s, {sum(sizes) / wall:.0f} words/s, "
        f"{wall / n:.2f} s a request, wall {wall:.1f} s"
    )


if __name__ == "__main__":
    main()
