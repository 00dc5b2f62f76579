"""How long the TARS handler takes to answer, per path, against moto's server on 127.0.0.1.

    /work/main/.venv/bin/python bench/bench_handler.py [--runs 5]

Side by side in one run: chat with CloudWatch Logs directly, through the MCP server (a real
process), with MCP down (refused), with MCP silent (accepts, never answers: the timeout path),
with Bedrock configured but not answering (moto has no Converse), and a KB document's
upload_complete. Prints a markdown table of medians (docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambda_src")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
                       "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    import boto3
    from moto.server import ThreadedMotoServer

    from tars_tasks.local.processes import free_port
    from tars_tasks.tables import create_all
    from bench.scenarios import local_auth
    from bench.scenarios.mcp_server import start_server, stop_server

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    mcp_port = free_port()
    mcp = start_server(mcp_port, os.environ["AWS_ENDPOINT_URL"])
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        create_all(boto3.client("dynamodb"), "sre-poc")
        boto3.client("s3").create_bucket(Bucket="kb-bench")
        import handler
        import sample_data

        # A Function URL POST SigV4-signed by an IAM principal of the function's account (the path
        # lambda_src/auth.py answers without a user token; a bench has no Cognito sign-in).
        authorizer = local_auth.iam_authorizer(boto3.client("sts"))
        context = local_auth.FunctionContext(
            f"arn:aws:lambda:us-east-1:{authorizer['accountId']}:function:sre-poc-incident-handler:production")

        def signed_post(fields: dict) -> dict:
            return local_auth.iam_event("POST", "/", {"content-type": "application/json"},
                                        json.dumps(fields).encode(), authorizer)

        logging.getLogger("tars").setLevel(logging.CRITICAL)  # expected fallbacks warn; not bench output

        sample_data.seed(boto3.client("logs"))
        os.environ.update({"INCIDENTS_TABLE": "sre-poc-incidents", "KB_DOCUMENTS_TABLE": "sre-poc-kb-documents",
                           "KB_CHUNKS_TABLE": "sre-poc-kb-chunks", "KB_S3_BUCKET": "kb-bench"})

        def chat(**env):
            for k, v in {"MCP_ENDPOINT": "", "BEDROCK_MODEL_ID": "", **env}.items():
                os.environ[k] = v
            ev = signed_post({"action": "chat", "question": "Are there any errors in the last hour?"})
            body = json.loads(handler.lambda_handler(ev, context)["body"])
            assert body["findings"]["error_count"] == 33, body
            return body

        def kb_complete():
            os.environ["BEDROCK_MODEL_ID"] = ""
            ev = lambda action, **f: signed_post({"action": action, **f})
            up = json.loads(handler.lambda_handler(ev("kb_upload", service_name="payment-service",
                                                      feature_name="runbook", file_name="r.md"), context)["body"])
            text = "\n".join(f"## Step {i}\n" + "Check the gateway, the pool and the dashboards. " * 20 for i in range(20))
            boto3.client("s3").put_object(Bucket="kb-bench", Key=up["s3_key"], Body=text.encode())
            done = json.loads(handler.lambda_handler(ev("kb_upload_complete", document_id=up["document_id"]), context)["body"])
            assert done["status"] == "active", done

        cases = [
            ("chat, CloudWatch Logs directly", lambda: chat()),
            ("chat, through the MCP server", lambda: chat(MCP_ENDPOINT=f"http://127.0.0.1:{mcp_port}/mcp")),
            ("chat, MCP refused -> direct", lambda: chat(MCP_ENDPOINT=f"http://127.0.0.1:{free_port()}/mcp")),
            ("chat, MCP silent -> timeout -> direct",
             lambda: chat(MCP_ENDPOINT=f"http://127.0.0.1:{silent.getsockname()[1]}/mcp")),
            ("chat, Bedrock configured, not answering", lambda: chat(BEDROCK_MODEL_ID="anthropic.claude-3-haiku")),
            ("kb_upload + kb_upload_complete (20 sections, ~20 KB)", kb_complete),
        ]
        print(f"| path | median of {runs} (s) | max (s) |\n|---|---|---|")
        for name, fn in cases:
            fn()  # warm: clients created, Bedrock's failure remembered as in a warm container
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
            print(f"| {name} | {statistics.median(times):.3f} | {max(times):.3f} |")
    finally:
        silent.close()
        stop_server(mcp)
        moto.stop()


if __name__ == "__main__":
    main()
