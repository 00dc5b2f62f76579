"""Runs one Lambda invocation inside a fresh interpreter (the local runtime's worker).

Standalone on purpose: it is run as ``python -c <this source>`` with the unpacked code as the
working directory, so nothing of tars_tasks sits on the handler's import path. It sets up
logging as Lambda's Python runtime does (one record per line, newlines inside a record turned
into carriage returns), reads the event from stdin, calls the handler and writes
``{"result": ...}`` or ``{"error": {...}}`` to the result file given in argv.
"""
import importlib
import json
import logging
import os
import sys
import time
import traceback


def main(handler_spec, result_path, request_id, deadline):
    task_root = os.getcwd()
    sys.path.insert(0, task_root)
    if "" in sys.path:
        sys.path.remove("")

    class LambdaFormatter(logging.Formatter):
        def format(self, record):
            record.aws_request_id = request_id
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
        aws_request_id = request_id

        @staticmethod
        def get_remaining_time_in_millis():
            return max(0, int((float(deadline) - time.time()) * 1000))

    def fail(error_type, message, trace):
        print("[ERROR] " + error_type + ": " + message + "\r" + "\r".join(trace).replace("\n", "\r"), flush=True)
        write({"error": {"errorMessage": message, "errorType": error_type, "requestId": request_id,
                         "stackTrace": trace}})

    def write(data):
        with open(result_path, "w", encoding="utf-8") as out:
            json.dump(data, out)

    module_name, _, function_name = handler_spec.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        function = getattr(module, function_name)
    except Exception as exc:  # noqa: BLE001 - reported as Lambda reports an init error
        fail("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}",
             traceback.format_exception(exc)[1:])
        return
    event = json.loads(sys.stdin.read() or "null")
    try:
        result = function(event, Context())
    except Exception as exc:  # noqa: BLE001 - an unhandled function error
        fail(type(exc).__name__, str(exc), traceback.format_tb(exc.__traceback__))
        return
    try:
        write({"result": result})
    except (TypeError, ValueError) as exc:
        fail("Runtime.MarshalError", f"Unable to marshal response: {exc}", [])


if __name__ == "__main__":
    main(*sys.argv[1:5])
    sys.stdout.flush()
