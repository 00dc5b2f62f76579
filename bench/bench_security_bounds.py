"""The bounds issue 14 put on the handler, before and after, side by side in one run.

    .venv/bin/python bench/bench_security_bounds.py [--before d2e23b7] [--runs 3]

For the handler at git ref ``--before`` (extracted with ``git archive``) and the working tree's,
each in its own process against its own moto server on 127.0.0.1 (the handler's clients talk to
it over HTTP, as on the local target):

- the reply of ``list_incidents`` (no filters, no limit) with 1,300 incidents of 5,000-character
  descriptions (the measured attack: 1,300 anonymous create_incident calls), in bytes;
- ``chat`` "Are there any errors in the last hour?" with the sample logs and 20 active documents
  of 400 chunks each (the measured attack: 20 anonymous 400-chunk uploads), median seconds of
  ``--runs``, and the same chat with no documents.

Prints a markdown table (docs/security.md).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INCIDENTS, DOCS, CHUNKS_PER_DOC = 1300, 20, 400


def _child(src: str, runs: int) -> dict:
    """Run in a fresh process: measure the handler in ``src`` against a private moto server."""
    sys.path[:0] = [str(ROOT), src]
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
                       "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from tars_tasks.local.processes import free_port
    from tars_tasks.tables import create_all

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    os.environ.update({"INCIDENTS_TABLE": "sre-poc-incidents", "KB_DOCUMENTS_TABLE": "sre-poc-kb-documents",
                       "KB_CHUNKS_TABLE": "sre-poc-kb-chunks", "KB_S3_BUCKET": "kb-bench", "BEDROCK_MODEL_ID": ""})
    try:
        ddb = boto3.client("dynamodb")
        create_all(ddb, "sre-poc")
        boto3.client("s3").create_bucket(Bucket="kb-bench")
        import embeddings
        import handler
        import sample_data

        logging.getLogger("tars").setLevel(logging.CRITICAL)
        sample_data.seed(boto3.client("logs"))

        def call(payload):
            ev = {"requestContext": {"http": {"method": "POST"}}, "body": json.dumps(payload)}
            started = time.perf_counter()
            reply = handler.lambda_handler(ev, None)
            return reply, time.perf_counter() - started

        def chat_seconds():
            times = []
            for _ in range(runs):
                reply, took = call({"action": "chat", "question": "Are there any errors in the last hour?"})
                assert reply["statusCode"] == 200, reply["body"][:300]
                times.append(took)
            return statistics.median(times), json.loads(reply["body"])

        empty_chat, _ = chat_seconds()

        now = time.time()
        rows = []
        for i in range(INCIDENTS):
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - INCIDENTS + i)) + ".000000Z"
            rows.append({"PutRequest": {"Item": {
                "incident_id": {"S": f"INC-{i:05d}"}, "service": {"S": "ledger"}, "severity": {"S": "P3"},
                "title": {"S": f"incident {i}"}, "description": {"S": "d" * 5000}, "status": {"S": "open"},
                "created_at": {"S": stamp}, "updated_at": {"S": stamp}}}})
        for start in range(0, len(rows), 25):
            ddb.batch_write_item(RequestItems={"sre-poc-incidents": rows[start:start + 25]})
        reply, list_seconds = call({"action": "list_incidents"})
        list_bytes = len(reply["body"])

        for d in range(DOCS):
            doc_id = f"doc{d:03d}"
            ddb.put_item(TableName="sre-poc-kb-documents", Item={
                "document_id": {"S": doc_id}, "service_name": {"S": f"svc-{d}"}, "feature_name": {"S": "ops"},
                "file_name": {"S": f"{doc_id}.md"}, "status": {"S": "active"}, "chunk_count": {"N": str(CHUNKS_PER_DOC)},
                "embedding_model": {"S": embeddings.HASHING}, "created_at": {"S": f"2026-01-01T00:00:{d:02d}.000000Z"},
                "s3_key": {"S": f"kb/svc-{d}/{doc_id}/{doc_id}.md"}})
            chunk_rows = []
            for i in range(CHUNKS_PER_DOC):
                text = f"step {i} of the svc-{d} runbook: restart the consumer and check the error rate"
                chunk_rows.append({"PutRequest": {"Item": {
                    "chunk_id": {"S": f"{doc_id}#{i:04d}"}, "document_id": {"S": doc_id}, "chunk_index": {"N": str(i)},
                    "service_name": {"S": f"svc-{d}"}, "text": {"S": text},
                    "embedding": {"S": json.dumps(embeddings.embed(text, embeddings.HASHING))},
                    "embedding_model": {"S": embeddings.HASHING}}}})
            for start in range(0, len(chunk_rows), 25):
                ddb.batch_write_item(RequestItems={"sre-poc-kb-chunks": chunk_rows[start:start + 25]})
        loaded_chat, body = chat_seconds()
        return {"list_bytes": list_bytes, "list_count": json.loads(reply["body"])["count"],
                "list_seconds": round(list_seconds, 3), "chat_empty_s": round(empty_chat, 3),
                "chat_loaded_s": round(loaded_chat, 3), "kb_search": body.get("kb_search")}
    finally:
        server.stop()


def _extract(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "lambda_src"], capture_output=True, check=True).stdout
    tar = into / "src.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as t:
        t.extractall(into, filter="data")
    return into / "lambda_src"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", default="d2e23b7", help="git ref of the handler before issue 14")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.runs)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        sides = {"before": _extract(args.before, Path(tmp)), "after": ROOT / "lambda_src"}
        results = {}
        for name, src in sides.items():
            done = subprocess.run([sys.executable, __file__, "--child", str(src), "--runs", str(args.runs)],
                                  capture_output=True, text=True, timeout=3600)
            if done.returncode:
                sys.exit(f"{name}: {done.stderr[-2000:]}")
            results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    b, a = results["before"], results["after"]
    print(f"| figure | before ({args.before}) | after |")
    print("|---|---|---|")
    print(f"| list_incidents reply, {INCIDENTS} incidents, no limit | {b['list_bytes']:,} bytes ({b['list_count']} items) "
          f"| {a['list_bytes']:,} bytes ({a['list_count']} items, next_token) |")
    print(f"| list_incidents time | {b['list_seconds']} s | {a['list_seconds']} s |")
    print(f"| chat, no KB documents (median of {args.runs}) | {b['chat_empty_s']} s | {a['chat_empty_s']} s |")
    print(f"| chat, {DOCS} x {CHUNKS_PER_DOC}-chunk documents (median of {args.runs}) | {b['chat_loaded_s']} s "
          f"| {a['chat_loaded_s']} s (kb_search: {a['kb_search']}) |")


if __name__ == "__main__":
    main()
