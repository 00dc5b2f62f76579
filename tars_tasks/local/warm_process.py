"""One warm worker process of the local runtime (``local.warm_worker`` run by this Python).

Three pipes: requests in (one JSON line each), replies out (one JSON line each), and the worker's
stdout + stderr (the function's log lines; the worker marks the end of each invoke's output with
a token line). The worker is a session leader: stopping it kills its process group by its pid,
so whatever the handler started goes too. Nothing here decides policy: ``local.warm`` does.
"""
from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from . import versions

WORKER_SOURCE = (Path(__file__).with_name("warm_worker.py")).read_text()


class Worker:
    def __init__(self, settings, v: "versions.Version", task_root: Path, key: tuple, *,
                 clock: Callable[[], float] = time.monotonic):
        self.key, self.function, self.version = key, v.function_name, v.version
        self.stream = time.strftime("%Y/%m/%d/", time.gmtime()) + f"[{v.version}]{uuid.uuid4().hex}"
        self.token = uuid.uuid4().hex
        self.busy = self.retired = False
        self.last_used = clock()
        self.uses = 0
        self.init_ms = 0.0
        self.init_error: dict | None = None
        self.max_memory_mb = 0
        self._shipped = False
        self._lines: list[str] = []
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        output_r, output_w = os.pipe()
        try:
            argv = [sys.executable, "-c", WORKER_SOURCE, v.handler, str(request_r), str(reply_w), self.token]
            self.process = subprocess.Popen(
                argv, cwd=str(task_root), env=versions.worker_environment(settings, v, self.stream, task_root),
                stdin=subprocess.DEVNULL, stdout=output_w, stderr=output_w, pass_fds=(request_r, reply_w),
                start_new_session=True)
        except BaseException:
            for fd in (request_r, request_w, reply_r, reply_w, output_r, output_w):
                os.close(fd)
            raise
        for fd in (request_r, reply_w, output_w):
            os.close(fd)
        self.pid = self.process.pid
        self._requests = os.fdopen(request_w, "w", encoding="utf-8")
        self._reply_fd, self._output_fd = reply_r, output_r
        self._buffers = {reply_r: b"", output_r: b""}
        self._open = {reply_r, output_r}

    def first_ship(self) -> bool:
        """True the first time: the log stream is still to be created."""
        first, self._shipped = not self._shipped, True
        return first

    def take_lines(self) -> list[str]:
        lines, self._lines = self._lines, []
        return lines

    def init(self, deadline: float) -> str:
        """Wait for the import of the handler: "ok", "error" (init_error set), "timeout", "exited"."""
        state, reply = self._exchange("INIT", deadline)
        if state != "ok":
            return state
        self.init_ms = float(reply.get("init_ms") or 0.0)
        if reply.get("init_error"):
            self.init_error = reply["init_error"]
            return "error"
        return "ok"

    def call(self, request_id: str, payload: Any, deadline: float) -> tuple[str, dict | None]:
        """One invoke: ("ok", {"payload"} or {"error"}), or ("timeout" | "exited", None)."""
        try:
            self._requests.write(json.dumps({"id": request_id, "event": payload, "deadline": deadline}) + "\n")
            self._requests.flush()
        except (BrokenPipeError, ValueError):
            return "exited", None
        state, reply = self._exchange("END " + request_id, deadline)
        if reply is not None:
            self.max_memory_mb = int(reply.get("max_memory_mb") or 0)
        return state, reply

    def _exchange(self, marker: str, deadline: float) -> tuple[str, dict | None]:
        """Read log lines and the reply until both the reply and the ``marker`` line came."""
        reply, marked = None, False
        with selectors.DefaultSelector() as selector:
            for fd in self._open:
                selector.register(fd, selectors.EVENT_READ)
            while reply is None or not marked:
                if self._reply_fd not in self._open:
                    return "exited", reply
                if self._output_fd not in self._open:
                    marked = True   # stdout closed: no more log lines can come
                    if reply is not None:
                        break
                remaining = deadline - time.time()
                if remaining <= 0:
                    return "timeout", None
                for key, _ in selector.select(remaining):
                    fd = key.fd
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        selector.unregister(fd)
                        self._open.discard(fd)
                        continue
                    *complete, self._buffers[fd] = (self._buffers[fd] + chunk).split(b"\n")
                    for raw in complete:
                        text = raw.decode("utf-8", "replace")
                        if fd == self._reply_fd:
                            reply = json.loads(text)
                        elif text == f"{self.token} {marker}":
                            marked = True
                        elif text.strip():   # a record's own newlines came as \r: it stays one event
                            self._lines.append(text.replace("\r", "\n"))
        return "ok", reply

    def _exited(self, wait: float = 0.0) -> os.waitid_result | None:
        """The worker's exit, once it exited, without reaping it (so its pid cannot be reused
        while we still may signal it)."""
        deadline = time.monotonic() + wait
        while True:
            try:
                done = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return None
            if done is not None or time.monotonic() >= deadline:
                return done
            time.sleep(0.01)

    def exit_status(self) -> str:
        """How the worker ended, as Lambda words it ("exit status 1", "signal: killed")."""
        done = self._exited(wait=2.0)
        if done is None:
            return "exit status unknown"
        if done.si_code == os.CLD_EXITED:
            return f"exit status {done.si_status}"
        return f"signal: {signal.Signals(done.si_status).name.lower().removeprefix('sig')}"

    def stop(self, grace: float = 1.0) -> None:
        """Close its request pipe (an idle worker exits at once), then kill its process group by
        its pid (still ours: the worker is reaped only afterwards), then reap it."""
        try:
            self._requests.close()
        except OSError:
            pass
        if not self.busy:
            self._exited(wait=grace)
        try:
            os.killpg(self.pid, signal.SIGKILL)   # the worker's own session: only what it started
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for fd in list(self._open):
            os.close(fd)
        self._open.clear()
