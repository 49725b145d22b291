"""The gate on Ray: `mtcheck gate INPUT --engine ray`, and `MTCheck` for Ray Data's `map_batches`.

Needs the optional extra: `pip install 'mtcheck[ray]'`. Every node of a cluster needs mtcheck and its model
(a manifest model missing on a node is installed there on first use, and must have the same sha256).

`RayWorkers` is `FeedGate`'s `Workers` on Ray actors. Each actor builds one `Checker` (the model loaded once per
actor, with torch's threads = the actor's CPUs, or on its GPU with `gpus_per_actor`) and checks one article per
call, so an article's figures are those of a one-article run with the same thread count (reports record it). Only
the checks run on the actors: the driver's `FeedGate` reads the input, decides and writes every item alone, one
at a time, in input order, keyed by id + sha256 — so the gate's promises hold as with `--jobs` (one writer of the
state and audit log, each item decided exactly once, a re-run skips what is decided, the input only read). An
actor whose process dies (killed, out of memory) is restarted and its checks in flight are run again
(`max_restarts`, `max_task_retries`); the driver waits for them, so no item is lost, and writes each result once,
so none is duplicated. An actor that cannot load the model fails the run with one line (`WorkerDied`, exit 2).

`MTCheck` is a callable class for Ray Data (see its docstring):

    ds = ray.data.read_json("feed.jsonl")
    ds = ds.map_batches(MTCheck, fn_constructor_kwargs={"policy": "gate-policy.toml"}, concurrency=4, batch_size=16)
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mtcheck.core.article import Article
from mtcheck.core.errors import InputError, MtcheckError
from mtcheck.core.report import Report
from mtcheck.gate.filters import QUARANTINE, GateReason, decide, scores_of
from mtcheck.gate.policy import Policy, default_policy, load_policy
from mtcheck.pipeline import Checker, WorkerDied
from mtcheck.reading.formats import feed_item_article

INSTALL = "pip install 'mtcheck[ray]'"


def import_ray():
    """The `ray` module, or one clear line saying how to get it."""
    try:
        import ray
    except ImportError:
        raise MtcheckError(f"the Ray engine needs Ray, which is not installed: {INSTALL}") from None
    return ray


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:limit]


def _local_model(settings: dict) -> dict:
    """The settings with a model this node can load: a manifest model resolved on the driver points into the
    driver's model store; on another node of a cluster it is installed there (same name, same sha256)."""
    from mtcheck.lm.store import ResolvedModel, load_manifest, resolve

    model = settings.get("model")
    if not isinstance(model, ResolvedModel) or Path(model.path).exists() or model.name not in load_manifest():
        return settings
    here = resolve(model.name)
    if here.sha256 != model.sha256:
        raise MtcheckError(
            f"model {model.name} on this node has sha256 {here.sha256[:12]}, the driver's has {model.sha256[:12]}"
        )
    return {**settings, "model": here}


class CheckActor:
    """One Ray actor: one Checker, built once (again after a restart), checking one article per call. A Checker
    that cannot be built is remembered, not raised: `ready()` says why, and the driver fails the run with it."""

    def __init__(self, settings: dict):
        self.checker: Checker | None = None
        self.error: str | None = None
        try:
            self.checker = Checker(**_local_model(settings))
        except Exception as exc:  # noqa: BLE001 - any failure to load is reported by ready(), in one line
            self.error = _one_line(exc) if isinstance(exc, MtcheckError) else f"{type(exc).__name__}: {_one_line(exc)}"

    def ready(self) -> str | None:
        """None when the checker is loaded, else why it is not."""
        return self.error

    def pid(self) -> int:
        return os.getpid()

    def check(self, article: Article) -> Report:
        if self.checker is None:
            raise WorkerDied(self.error or "the checker did not start")
        return self.checker.check(article)


class _Result:
    """A check on an actor, shaped as FeedGate's futures are (`done()`, `result()`): an error of the article's
    own check comes back as itself (the item is quarantined, "checker-error"); a dead actor that Ray could not
    restart, or a lost result, as WorkerDied (the run fails; a re-run resumes where it stopped)."""

    def __init__(self, future, on_done: Callable[[], None]):
        self._future = future
        future.add_done_callback(lambda _f: on_done())

    def done(self) -> bool:
        return self._future.done()

    def result(self) -> Report:
        from ray.exceptions import RayActorError, RayError, RayTaskError

        try:
            return self._future.result()
        except RayTaskError as exc:  # the check itself raised: the original exception, without Ray's wrapping
            cause = exc.cause if isinstance(exc.cause, BaseException) else None
            if isinstance(cause, WorkerDied):
                raise WorkerDied(str(cause)) from None
            if cause is None:
                raise MtcheckError(_one_line(exc)) from None
            raise cause from None
        except RayActorError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise WorkerDied(f"a Ray actor died and could not be restarted: {first[:300]}") from None
        except RayError as exc:
            raise WorkerDied(f"Ray lost a check: {type(exc).__name__}: {_one_line(exc)}") from None


class RayWorkers:
    """`actors` Ray actors checking articles for one FeedGate (the `Workers` duck type: `jobs`, `submit`, `close`).

    `address`: a Ray cluster to connect to (`auto`: the one running on this machine, as `ray start` left it);
    None: the Ray this process is already connected to, else a local one started here, with the machine's cores
    as CPUs (more when more actors are asked for: they share the cores, as `--jobs` threads do), and shut down by
    `close()`. `cpus_per_actor`: CPUs each actor asks for and torch's threads in it
    (default: the cluster's CPUs shared out). `gpus_per_actor` > 0: each actor asks for that share of a GPU and
    runs the model on it. Nothing starts until the first article is submitted (a fully cached run starts no
    cluster and loads no model); then every actor is up, model loaded, or the run fails within `start_timeout`
    seconds with one line."""

    def __init__(
        self,
        actors: int,
        settings: dict,
        *,
        address: str | None = None,
        gpus_per_actor: float = 0.0,
        cpus_per_actor: int | None = None,
        max_restarts: int = 4,
        start_timeout: float = 600.0,
        log: Callable[[str], None] | None = None,
    ):
        import_ray()  # before anything is read: a missing extra is a usage error, not a failed run halfway
        if actors < 1:
            raise MtcheckError(f"--actors must be 1 or more, not {actors}")
        if gpus_per_actor < 0:
            raise MtcheckError(f"--gpus-per-actor must be 0 or more, not {gpus_per_actor}")
        if gpus_per_actor > 0 and str(settings.get("device") or "auto") == "cpu":
            raise MtcheckError("--gpus-per-actor runs the model on the GPU: leave out --device cpu")
        self.jobs = actors
        self.address = address
        self.gpus_per_actor = float(gpus_per_actor)
        self.cpus_per_actor = cpus_per_actor
        self.max_restarts = max_restarts
        self.start_timeout = start_timeout
        self._settings = dict(settings)
        self._log = log or (lambda _m: None)
        self._actors: list[Any] = []
        self._busy: list[int] = []
        self._lock = threading.Lock()
        self._started_ray = False
        self._closed = False

    # --- start ------------------------------------------------------------------------------------
    def _connect(self):
        ray = import_ray()
        if ray.is_initialized():
            return ray
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # mtcheck runs offline: no usage report
        quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
        try:
            if self.address:
                ray.init(address=self.address, **quiet)
            else:  # a new one even when another runs here; CPUs: the cores, or more for more actors (they share them)
                cpus = max(os.cpu_count() or 1, self.jobs * (self.cpus_per_actor or 1))
                ray.init(address="local", num_cpus=cpus, **quiet)
        except Exception as exc:  # noqa: BLE001 - ConnectionError, RuntimeError...: one line, exit 2
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray cluster"
            raise MtcheckError(f"cannot start or reach {where}: {_one_line(exc)}") from None
        self._started_ray = True
        return ray

    def _start(self) -> None:
        ray = self._connect()
        total = ray.cluster_resources()
        cpus, gpus = int(total.get("CPU", 0)), float(total.get("GPU", 0))
        per = self.cpus_per_actor or max(1, cpus // self.jobs)
        need = f"{self.jobs} actors x ({per} CPU{'s' if per > 1 else ''}, {self.gpus_per_actor:g} GPU)"
        have = f"the Ray cluster has {cpus} CPUs and {gpus:g} GPUs"
        if per * self.jobs > cpus or self.gpus_per_actor * self.jobs > gpus:
            if self._started_ray and not self.address:  # a local cluster does not grow: it would wait forever
                raise WorkerDied(f"{need} do not fit: {have}; use fewer --actors or a smaller --gpus-per-actor")
            self._log(f"mtcheck: gate: {need} do not fit now ({have}): waiting for it to grow")
        settings = {**self._settings, "threads": per}
        if self.gpus_per_actor > 0:
            settings["device"] = "cuda"  # Ray makes the actor's share of a GPU its cuda:0
        elif str(settings.get("device") or "auto") == "auto":
            settings["device"] = "cpu"  # an actor with no GPU asked for must not take one it was not given
        remote = ray.remote(CheckActor).options(
            num_cpus=per,
            num_gpus=self.gpus_per_actor,
            max_restarts=self.max_restarts,  # a killed actor process comes back (model loaded again) ...
            max_task_retries=-1,  # ... and its checks in flight run again on it (a check has no side effect)
        )
        self._actors = [remote.remote(settings) for _ in range(self.jobs)]
        self._busy = [0] * self.jobs
        ready = [a.ready.remote() for a in self._actors]
        done, waiting = ray.wait(ready, num_returns=len(ready), timeout=self.start_timeout)
        if waiting:
            self.close()
            raise WorkerDied(
                f"{len(waiting)} of {self.jobs} Ray actors did not start in {self.start_timeout:g}s: {need}; {have}"
            )
        for ref in done:
            try:
                error = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - the actor's process died while loading
                error = f"the actor died while loading the model: {_one_line(exc).splitlines()[0]}"
            if error:
                self.close()
                raise WorkerDied(f"the checker did not start on a Ray actor: {error}")
        self._log(f"mtcheck: gate: {need} ready ({have})")

    # --- the Workers duck type ----------------------------------------------------------------------
    def submit(self, article: Article) -> _Result:
        if self._closed:
            raise WorkerDied("the Ray workers are closed")
        if not self._actors:
            self._start()
        with self._lock:  # the least busy actor
            i = min(range(len(self._actors)), key=self._busy.__getitem__)
            self._busy[i] += 1
        future = self._actors[i].check.remote(article).future()
        return _Result(future, lambda: self._release(i))

    def _release(self, i: int) -> None:
        with self._lock:
            self._busy[i] -= 1

    def pids(self) -> list[int]:
        """The process id of each actor (tests kill one)."""
        ray = import_ray()
        return ray.get([a.pid.remote() for a in self._actors])

    def close(self) -> None:
        """Stop the actors; shut Ray down only if this object started (or connected) it."""
        if self._closed:
            return
        self._closed = True
        ray = import_ray()
        for actor in self._actors:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001, S110 - already gone
                pass
        self._actors = []
        if self._started_ray and ray.is_initialized():
            ray.shutdown()


# --- Ray Data ---------------------------------------------------------------------------------------
def _assigned_cpus() -> int | None:
    """CPUs Ray gave this actor (torch's threads in it), or None outside Ray."""
    try:
        import ray

        if not ray.is_initialized():
            return None
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")
    except Exception:  # noqa: BLE001 - not in a Ray worker
        return None
    return max(1, int(round(cpus))) if cpus else None


def _has_gpu() -> bool:
    try:
        import ray

        return ray.is_initialized() and bool(ray.get_gpu_ids())
    except Exception:  # noqa: BLE001
        return False


def _value(v: Any) -> Any:
    """A cell as plain Python: numpy scalars and arrays, bytes; a missing value (None, NaN) as None."""
    if isinstance(v, str):
        return str(v)  # numpy's str_ as a plain str
    if hasattr(v, "tolist"):
        v = v.tolist()  # numpy array or scalar
    if isinstance(v, bytes):
        try:
            v = v.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if isinstance(v, float) and v != v:  # NaN: pandas' missing value
        return None
    return v


class MTCheck:
    """A Ray Data callable class: checks each row's text and adds the gate's decision, never dropping a row.

        import ray
        from mtcheck.gate.ray_engine import MTCheck

        ds = ray.data.read_json("feed.jsonl")  # columns: id, title, text, ...
        ds = ds.map_batches(
            MTCheck,
            fn_constructor_kwargs={"policy": "gate-policy.toml"},
            concurrency=4,  # actors; each loads the model once
            batch_size=16,
            num_cpus=1,  # per actor: torch's threads in it (or num_gpus=1: the model runs on that GPU)
        )
        accepted = ds.filter(lambda row: row["mtcheck_decision"] == "accept")

    Batches: Ray Data's default format (a dict of numpy arrays, `batch_format="numpy"`), `"pandas"` (a DataFrame)
    and `"pyarrow"` (a Table); the batch comes back in the same format with these columns added:
    `mtcheck_decision` (accept | quarantine | reject), `mtcheck_reasons` (JSON list of {decision, code,
    message}), `mtcheck_scores` (JSON object, "null" when there is no report), `mtcheck_report` (JSON of
    `Report.to_json()`, "null" when there is none; left out with `reports=False`).

    A row is the feed item {"id": <id_column>, "title": <title_column>, "text": <text_column>, "url": "url"}, read
    as `mtcheck gate` reads a JSONL line: a row whose text is missing, empty or not text is quarantined with
    reason "unreadable"; a row whose check fails, with "checker-error". Each article is checked alone (one LM
    pass per article, as the gate does), so its decision equals `mtcheck gate`'s for the same item, model,
    policy and thread count: `threads` defaults to the CPUs Ray gave the actor (`num_cpus`).

    Constructor (`fn_constructor_kwargs`): `model` (name or folder, default smollm2-135m), `device` (auto: the
    actor's GPU if Ray gave it one, else cpu), `policy` (TOML path, a Policy, or None for the defaults),
    `text_column`, `title_column`, `id_column`, `corrections` (propose corrections for major and critical
    flags in the reports; decisions do not change), `reports`, `threads`."""

    def __init__(
        self,
        model: str | None = None,
        device: str = "auto",
        policy: str | Path | Policy | None = None,
        text_column: str = "text",
        title_column: str = "title",
        id_column: str = "id",
        corrections: bool = False,
        reports: bool = True,
        threads: int | None = None,
    ):
        from mtcheck.lm.store import resolve

        if device in (None, "", "auto"):
            device = "cuda" if _has_gpu() else "cpu"
        self.policy = policy if isinstance(policy, Policy) else load_policy(policy) if policy else default_policy()
        self.checker = Checker(
            resolve(model),
            device=device,
            corrections=corrections,
            correct_from="major",
            threads=threads or _assigned_cpus(),
        )
        self.text_column, self.title_column, self.id_column = text_column, title_column, id_column
        self.reports = reports

    def __call__(self, batch: Any) -> Any:
        import numpy as np

        if hasattr(batch, "to_pylist") and hasattr(batch, "append_column"):  # pyarrow.Table
            columns = self._decide_rows(batch.to_pylist())
            for name, values in columns.items():
                batch = batch.append_column(name, _arrow_strings(values))
            return batch
        if hasattr(batch, "to_dict") and hasattr(batch, "iloc"):  # pandas.DataFrame
            columns = self._decide_rows(batch.to_dict("records"))
            out = batch.copy()
            for name, values in columns.items():
                out[name] = values
            return out
        if isinstance(batch, Mapping):  # dict of numpy arrays (Ray Data's default)
            n = len(next(iter(batch.values()))) if batch else 0
            rows = [{k: v[i] for k, v in batch.items()} for i in range(n)]
            out = dict(batch)
            for name, values in self._decide_rows(rows).items():
                out[name] = np.array(values, dtype=object)
            return out
        raise TypeError(f"MTCheck: a batch of type {type(batch).__name__} (expected numpy dict, pandas or pyarrow)")

    def _decide_rows(self, rows: list[dict]) -> dict[str, list[str]]:
        decided = [self.decide_row(row, i) for i, row in enumerate(rows)]
        names = ["mtcheck_decision", "mtcheck_reasons", "mtcheck_scores"] + (["mtcheck_report"] if self.reports else [])
        return {name: [d[k] for d in decided] for k, name in enumerate(names)}

    def decide_row(self, row: Mapping[str, Any], index: int = 0) -> tuple[str, str, str, str]:
        """(decision, reasons JSON, scores JSON, report JSON) of one row."""
        given = _value(row.get(self.id_column))
        item_id = str(given).strip() if isinstance(given, (str, int)) and str(given).strip() else str(index + 1)
        item = {"id": item_id, "text": _value(row.get(self.text_column))}
        for key, column in (("title", self.title_column), ("url", "url")):
            value = _value(row.get(column))
            if isinstance(value, str):
                item[key] = value
        if not isinstance(item["text"], (str, list)):
            item["text"] = None  # a number or a struct is no article text
        article = feed_item_article(item, f"<row {item_id}>", item_id)
        report: Report | None = None
        if isinstance(article, InputError):
            decision, reasons = QUARANTINE, [GateReason(QUARANTINE, "unreadable", article.cause)]
        else:
            try:
                report = self.checker.check(article)
            except Exception as exc:  # noqa: BLE001 - as the gate: the row is held back, the batch goes on
                message = f"the checker failed: {type(exc).__name__}: {_one_line(exc)}"
                decision, reasons = QUARANTINE, [GateReason(QUARANTINE, "checker-error", message)]
            else:
                decision, reasons = decide(report, self.policy)
        return (
            decision,
            json.dumps([r.to_json() for r in reasons], ensure_ascii=False),
            json.dumps(scores_of(report) if report is not None else None, ensure_ascii=False),
            json.dumps(report.to_json() if report is not None else None, ensure_ascii=False),
        )


def _arrow_strings(values: list[str]):
    import pyarrow as pa

    return pa.array(values, type=pa.string())
