"""A warm execution environment of the local runtime: one interpreter, one code version, many invokes.

Standalone on purpose (run as ``python -c <this source> HANDLER REQUEST_FD REPLY_FD TOKEN`` with
the unpacked code as the working directory), so nothing of tars_tasks sits on the handler's path.

Init, as Lambda's: logging set up as Lambda's Python runtime does (one record per line, newlines
inside a record turned into carriage returns), then the handler's module imported once; its
module state lives on across invocations, as in a warm container. The init answer goes on the
reply fd: ``{"init_ms": ...}`` or ``{"init_error": {...}}`` (the worker then exits).

Invoke: one JSON line per request on the request fd, ``{"id", "event", "deadline"}``. The worker
calls the handler, prints ``TOKEN END id`` on stdout (the parent's cue that this invocation's log
lines are complete), then answers ``{"id", "payload"}`` (the result as JSON text) or
``{"id", "error"}`` (Lambda's shape), and
its peak memory. An exception in the handler is a function error: the worker stays (Lambda reuses
the environment). EOF on the request fd (the runtime closed it, or died): the worker exits.
"""
import importlib
import json
import logging
import os
import resource
import sys
import time
import traceback

CURRENT = {"request_id": "", "deadline": 0.0}


def setup_logging():
    class LambdaFormatter(logging.Formatter):
        def format(self, record):
            record.aws_request_id = CURRENT["request_id"]
            return super().format(record).replace("\n", "\r")

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(LambdaFormatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
                                         "%Y-%m-%dT%H:%M:%S"))
    logging.Formatter.converter = time.gmtime
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


class Context:
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
    function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    invoked_function_arn = os.environ.get("TARS_LOCAL_INVOKED_ARN", "")
    memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
    log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
    log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")

    def __init__(self, request_id, deadline):
        self.aws_request_id = request_id
        self._deadline = deadline

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.time()) * 1000))


def error(error_type, message, trace):
    print("[ERROR] " + error_type + ": " + message + "\r" + "\r".join(trace).replace("\n", "\r"), flush=True)
    return {"errorMessage": message, "errorType": error_type, "requestId": CURRENT["request_id"],
            "stackTrace": trace}


def end_of_output(token, what):
    """Flush what the handler printed, then mark where this phase's output ends."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os.write(1, f"{token} {what}\n".encode())


def max_memory_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024   # kilobytes on Linux


def invoke(function, request):
    CURRENT.update(request_id=request["id"], deadline=float(request["deadline"]))
    try:
        result = function(request.get("event"), Context(request["id"], float(request["deadline"])))
    except Exception as exc:  # noqa: BLE001 - an unhandled function error (the environment stays)
        return {"error": error(type(exc).__name__, str(exc), traceback.format_tb(exc.__traceback__))}
    try:
        return {"payload": json.dumps(result)}   # the reply body as the parent sends it on
    except (TypeError, ValueError) as exc:
        return {"error": error("Runtime.MarshalError", f"Unable to marshal response: {exc}", [])}


def main(handler_spec, request_fd, reply_fd, token):
    sys.path.insert(0, os.getcwd())
    if "" in sys.path:
        sys.path.remove("")
    requests = open(int(request_fd), "r", encoding="utf-8")
    replies = open(int(reply_fd), "w", encoding="utf-8")

    def answer(data):
        replies.write(json.dumps(data) + "\n")
        replies.flush()

    setup_logging()
    module_name, _, function_name = handler_spec.rpartition(".")
    started = time.perf_counter()
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:  # noqa: BLE001 - reported as Lambda reports an init error
        failed = error("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}",
                       traceback.format_exception(exc)[1:])
        end_of_output(token, "INIT")
        answer({"init_error": failed, "init_ms": (time.perf_counter() - started) * 1000})
        return
    end_of_output(token, "INIT")
    answer({"init_ms": (time.perf_counter() - started) * 1000})
    for line in requests:
        request = json.loads(line)
        outcome = invoke(function, request)
        end_of_output(token, "END " + request["id"])
        answer(dict(outcome, id=request["id"], max_memory_mb=max_memory_mb()))
        CURRENT.update(request_id="", deadline=0.0)


if __name__ == "__main__":
    main(*sys.argv[1:5])
