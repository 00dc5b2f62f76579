"""Warm execution environments of the local runtime, kept as Lambda keeps them.

A :class:`Pool` (the runtime server holds one) runs each function version in long-lived workers
(``local.warm_worker``): a worker starts on the first invoke of its version (a cold start, its
REPORT line says ``Init Duration``), later invokes reuse it and its module state. At most
``limit`` workers per function (its reserved concurrency, else ``size``); more concurrent invokes
wait for a free one. A worker is stopped by its pid when its invoke crashes or times out (only that
invoke fails, in Lambda's error shape; the next one gets a fresh worker), after ``idle_seconds``
unused, when the alias it served moves to another version, when its version's code or
configuration changed ($LATEST), and when the pool closes. An unhandled exception is a function
error, not a crash: the worker stays, as Lambda's does. Each worker logs to its own stream.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
import uuid
from typing import Any, Callable, Iterator

from ..errors import StepFailed
from . import versions
from .warm_process import Worker

# Pool size and idle time: settings warm_pool_size (TARS_WARM_POOL_SIZE, default 4: 2 cores here) and
# warm_idle_seconds (TARS_WARM_IDLE_SECONDS, default 300: Lambda keeps its environments minutes).
WARM_SETTINGS = ("warm_pool_size", "warm_idle_seconds")


def key_of(v: versions.Version) -> tuple[str, str, str]:
    """What a worker runs: function, version, and a digest of the code and configuration."""
    config = json.dumps([v.code_sha256, v.handler, v.timeout, v.memory, v.environment], sort_keys=True)
    return v.function_name, v.version, hashlib.sha256(config.encode()).hexdigest()[:16]


class Pool:
    def __init__(self, settings, *, size: int | None = None, idle_seconds: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        """``size`` and ``idle_seconds`` default to the settings (warm_pool_size, warm_idle_seconds);
        a malformed one is a ConfigError."""
        if size is None or idle_seconds is None:
            settings.ensure_valid(*WARM_SETTINGS)
        self.settings = settings
        self.size = int(settings.warm_pool_size if size is None else size)
        self.idle_seconds = float(settings.warm_idle_seconds if idle_seconds is None else idle_seconds)
        self.clock = clock
        self._cond = threading.Condition()
        self._workers: list[Worker] = []
        self._starting: dict[str, int] = {}
        self._aliases: dict[tuple[str, str], str] = {}
        self._closed = False
        self._pending = threading.local()   # log lines to ship after the reply (logs_after_reply)

    # -- invoke ---------------------------------------------------------------------------------
    def invoke(self, v: versions.Version, payload: Any, *, timeout: float, qualifier: str | None = None,
               request_id: str | None = None) -> dict[str, Any]:
        """Run ``v`` with ``payload`` on a warm worker; the boto3-shaped reply (as boto3's invoke)."""
        request_id = request_id or str(uuid.uuid4())
        caller_deadline = time.time() + float(timeout)
        if qualifier and qualifier != "$LATEST" and not qualifier.isdigit():
            self._follow_alias(v.function_name, qualifier, v.version)
        worker, cold = self._acquire(v, caller_deadline)
        lines: list[str] = []
        if cold:
            state = worker.init(min(time.time() + v.timeout, caller_deadline))
            lines += ["INIT_START Runtime Version: python:3.11.local\tRuntime Version ARN: local", *worker.take_lines()]
            if state != "ok":   # the import failed ("error"), timed out or the process died
                outcome = {"error": worker.init_error} if state == "error" else None
                if state == "timeout" and time.time() >= caller_deadline and v.timeout > timeout:
                    state = "caller-timeout"
                return self._finish(worker, v, request_id, lines, state, outcome, time.time(), cold)
        started = time.time()
        function_deadline = started + v.timeout
        state, outcome = worker.call(request_id, payload, min(function_deadline, caller_deadline))
        lines += [f"START RequestId: {request_id} Version: {v.version}", *worker.take_lines()]
        if state == "timeout" and function_deadline > caller_deadline:
            state = "caller-timeout"
        return self._finish(worker, v, request_id, lines, state, outcome, started, cold)

    def _finish(self, worker: Worker, v: versions.Version, request_id: str, lines: list[str], state: str,
                outcome: dict | None, started: float, cold: bool) -> dict[str, Any]:
        """Log lines, REPORT, the worker back to the pool (or stopped), and the reply."""
        elapsed_ms = (time.time() - started) * 1000
        if state == "timeout":
            lines.append(f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())}Z {request_id} "
                         f"Task timed out after {v.timeout:.2f} seconds")
            outcome = {"error": {"errorMessage": f"Task timed out after {v.timeout:.2f} seconds",
                                 "errorType": "Sandbox.Timedout", "requestId": request_id}}
        elif state == "caller-timeout":
            outcome = {}
        elif outcome is None:
            outcome = {"error": {"errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: "
                                                 f"{worker.exit_status()}", "errorType": "Runtime.ExitError"}}
        report = (f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms\t"
                  f"Billed Duration: {int(elapsed_ms) + 1} ms\tMemory Size: {v.memory} MB\t"
                  f"Max Memory Used: {worker.max_memory_mb} MB")
        if cold:
            report += f"\tInit Duration: {worker.init_ms:.2f} ms"
        lines += [f"END RequestId: {request_id}", report]
        self._release(worker, healthy=state == "ok")
        self._ship(v.function_name, worker.stream, lines, started, worker.first_ship())
        if state == "caller-timeout":    # the caller's read timeout passed first, as botocore raises it
            raise versions.InvokeTimedOut(endpoint_url=f"local runtime {v.function_name}:{v.version}")
        reply: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": v.version,
                                 "ResponseMetadata": {"RequestId": request_id, "HTTPStatusCode": 200}}
        if "error" in outcome:
            reply["FunctionError"] = "Unhandled"
            reply["Payload"] = versions.Payload(json.dumps(outcome["error"]).encode())
        else:
            reply["Payload"] = versions.Payload(outcome["payload"].encode())
        return reply

    def _ship(self, function: str, stream: str, lines: list[str], started: float, create: bool) -> None:
        pending = getattr(self._pending, "logs", None)
        if pending is None:
            versions.ship_logs(self.settings, function, stream, lines, started, create=create)
        else:
            pending.append((function, stream, lines, started, create))

    @contextlib.contextmanager
    def logs_after_reply(self) -> Iterator[Callable[[], None]]:
        """Within the block, invokes of this thread keep their log lines; the function it yields
        ships them (call it once the reply went out: the caller does not wait for CloudWatch).
        Lines left unshipped are shipped when the block ends."""
        self._pending.logs = []

        def ship() -> None:
            pending, self._pending.logs = self._pending.logs, []
            for args in pending:
                versions.ship_logs(self.settings, *args[:4], create=args[4])

        try:
            yield ship
        finally:
            ship()
            self._pending.logs = None

    # -- the workers ----------------------------------------------------------------------------
    def _limit(self, v: versions.Version) -> int:
        reserved = getattr(v, "concurrency", None)
        if reserved == 0:
            raise StepFailed(f"{v.function_name} has reserved concurrency 0: every invoke is throttled",
                             "raise its reserved concurrency (aws_lambda_function reserved_concurrent_executions)")
        return int(reserved or self.size)

    def _acquire(self, v: versions.Version, deadline: float) -> tuple[Worker, bool]:
        key, fn, limit = key_of(v), v.function_name, self._limit(v)
        while True:
            stop: list[Worker] = []
            with self._cond:
                if self._closed:
                    raise StepFailed("the local runtime is shutting down", "run the request again")
                for w in self._workers:   # same function and version, other code or configuration
                    if w.function == fn and w.version == v.version and w.key != key:
                        w.retired = True
                stop += self._drop(lambda w: w.retired and not w.busy)
                idle = [w for w in self._workers if w.key == key and not w.busy]
                if idle:
                    worker = max(idle, key=lambda w: w.last_used)
                    worker.busy = True
                    return worker, False
                mine = [w for w in self._workers if w.function == fn]
                if not stop and len(mine) + self._starting.get(fn, 0) >= limit:
                    stop += self._drop(lambda w: w.function == fn and not w.busy and w.key != key, first=True)
                if not stop and len(mine) + self._starting.get(fn, 0) < limit:
                    self._starting[fn] = self._starting.get(fn, 0) + 1
                    break
                if not stop:
                    if time.time() >= deadline:
                        raise versions.InvokeTimedOut(endpoint_url=f"local runtime {fn}:{v.version} (all "
                                                                  f"{limit} workers busy)")
                    self._cond.wait(min(1.0, max(0.0, deadline - time.time())))
            for w in stop:
                w.stop()
        worker = None
        try:
            worker = Worker(self.settings, v, versions.code_root(self.settings, v), key, clock=self.clock)
        finally:
            with self._cond:
                self._starting[fn] -= 1
                if worker is not None:
                    worker.busy = True
                    self._workers.append(worker)
                self._cond.notify_all()
        return worker, True

    def _drop(self, which: Callable[[Worker], bool], first: bool = False) -> list[Worker]:
        """Take the workers ``which`` selects (the least recently used one when ``first``) out of
        the pool; the caller stops them outside the lock. Call with the lock held."""
        chosen = sorted((w for w in self._workers if which(w)), key=lambda w: w.last_used)
        chosen = chosen[:1] if first else chosen
        for w in chosen:
            self._workers.remove(w)
        return chosen

    def _release(self, worker: Worker, *, healthy: bool) -> None:
        with self._cond:
            worker.busy = False
            worker.last_used = self.clock()
            worker.uses += 1
            gone = not healthy or worker.retired or self._closed
            if gone and worker in self._workers:
                self._workers.remove(worker)
            self._cond.notify_all()
        if gone:
            worker.stop()

    def _follow_alias(self, fn: str, alias: str, version: str) -> None:
        """The alias now names ``version``: workers of the version it named before are retired."""
        with self._cond:
            before = self._aliases.get((fn, alias))
            self._aliases[(fn, alias)] = version
            if before is None or before == version:
                return
            for w in self._workers:
                if w.function == fn and w.version == before:
                    w.retired = True
            stop = self._drop(lambda w: w.retired and not w.busy)
            self._cond.notify_all()
        for w in stop:
            w.stop()

    def reap(self) -> list[int]:
        """Stop the workers unused for ``idle_seconds``; returns their pids."""
        now = self.clock()
        with self._cond:
            stop = self._drop(lambda w: not w.busy and now - w.last_used >= self.idle_seconds)
        for w in stop:
            w.stop()
        return [w.pid for w in stop]

    def run_reaper(self, every: float | None = None) -> threading.Thread:
        """Reap idle workers in the background until the pool closes."""
        every = every or max(1.0, min(30.0, self.idle_seconds / 4))

        def loop() -> None:
            while not self._closed:
                time.sleep(every)
                self.reap()

        thread = threading.Thread(target=loop, name="warm-reaper", daemon=True)
        thread.start()
        return thread

    def close(self) -> list[int]:
        """Stop every worker (busy ones too), by pid. Returns their pids."""
        with self._cond:
            self._closed = True
            stop = self._drop(lambda w: True)
            self._cond.notify_all()
        for w in stop:
            w.stop()
        return [w.pid for w in stop]

    def workers(self) -> list[dict[str, Any]]:
        with self._cond:
            return [{"pid": w.pid, "function": w.function, "version": w.version, "busy": w.busy,
                     "uses": w.uses, "stream": w.stream} for w in self._workers]
