"""The queue in front of the loaded model: one worker thread runs the checks one request at a time, in arrival order.

A request's handler thread submits a `Job` and waits for it until the request's deadline. A full queue refuses
at once (`Busy`: the server answers 503 with Retry-After). A job still waiting at its deadline is marked and
skipped when its turn comes: it never runs (503). One already running cannot be interrupted inside the model, but
a job of several items stops between batches once its request has given up (504), so the model moves on to the
next request.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from mtcheck.core.errors import MtcheckError

QUEUED, RUNNING, DONE, CANCELLED = "queued", "running", "done", "cancelled"


class Busy(Exception):
    """The queue is full: `retry_after` is the server's guess of when a place frees, in whole seconds."""

    def __init__(self, waiting: int, retry_after: int):
        super().__init__(f"{waiting} requests are waiting")
        self.waiting = waiting
        self.retry_after = retry_after


class ShuttingDown(Exception):
    """The server stopped before the job ran."""


class Cancelled(Exception):
    """Raised by a job that saw `job.cancelled` and stopped early: its request has already been answered."""


class Job:
    """One request's work: `run(job)` is called on the worker thread; it may poll `job.cancelled` between
    batches and stop early."""

    def __init__(self, run: Callable[[Job], Any]):
        self._run = run
        self._lock = threading.Lock()
        self._done = threading.Event()
        self.state = QUEUED
        self.cancelled = False  # the request gave up: stop at the next chance
        self.result: Any = None
        self.error: BaseException | None = None
        self.seconds = 0.0  # time spent running

    def wait(self, timeout: float) -> bool:
        return self._done.wait(max(0.0, timeout))

    def give_up(self) -> str:
        """The request stops waiting: a queued job will never run. Returns the state it was in (QUEUED, RUNNING or
        DONE: a job that finished in the meantime keeps its result)."""
        with self._lock:
            state = self.state
            if state == QUEUED:
                self.state = CANCELLED
            if state in (QUEUED, RUNNING):
                self.cancelled = True
            return state

    def _start(self) -> bool:
        with self._lock:
            if self.state != QUEUED:
                return False
            self.state = RUNNING
            return True

    def _finish(self, result: Any = None, error: BaseException | None = None) -> None:
        with self._lock:
            self.result, self.error = result, error
            if self.state in (QUEUED, RUNNING):
                self.state = DONE
        self._done.set()


class CheckQueue:
    """A bounded FIFO of jobs and the one thread that runs them. `on_error(exc)` is told of an exception that is
    neither the input's fault (MtcheckError) nor a cancellation: the server logs it in one line."""

    def __init__(self, size: int, on_error: Callable[[BaseException], None] | None = None):
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=size)
        self._on_error = on_error
        self._stopping = False
        self._running: Job | None = None
        self._mean_seconds = 1.0  # running mean of a job's time, for Retry-After
        self._thread = threading.Thread(target=self._work, name="mtcheck-serve-worker", daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    @property
    def busy(self) -> bool:
        return self._running is not None

    def submit(self, run: Callable[[Job], Any]) -> Job:
        if self._stopping:
            raise ShuttingDown()
        job = Job(run)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            waiting = self._queue.qsize()
            raise Busy(waiting, self.retry_after(waiting)) from None
        return job

    def retry_after(self, waiting: int) -> int:
        """Seconds until the jobs now waiting (and the one running) are likely done: at least 1."""
        return max(1, math.ceil(self._mean_seconds * (waiting + 1)))

    def stop(self, wait: float = 0.0) -> None:
        """No new jobs; the waiting ones fail with ShuttingDown; the running one may finish within `wait` s."""
        self._stopping = True
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None and job._start():
                job._finish(error=ShuttingDown())
        try:
            self._queue.put_nowait(None)
        except queue.Full:  # a submit raced in: the worker stops on the flag instead
            pass
        self._thread.join(wait)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None or self._stopping:
                if job is not None and job._start():
                    job._finish(error=ShuttingDown())
                if job is None:
                    return
                continue
            if not job._start():  # its request gave up while it waited
                continue
            self._running = job
            start = time.monotonic()
            try:
                result = job._run(job)
            except Exception as exc:  # noqa: BLE001 - handed to the request's thread, which answers for it
                job.seconds = time.monotonic() - start
                if self._on_error is not None and not isinstance(exc, (MtcheckError, Cancelled)):
                    self._on_error(exc)
                job._finish(error=exc)
            else:
                job.seconds = time.monotonic() - start
                job._finish(result=result)
            finally:
                self._running = None
            self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * job.seconds
