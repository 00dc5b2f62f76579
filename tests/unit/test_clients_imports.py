"""A run that talks only to Lambda never imports boto3 nor s3transfer (issue 16.3: the no-op
deploy-lambda imports what it needs); S3's client is boto3's, with upload_file."""
import json
import subprocess
import sys

from tests.conftest import ROOT

PROBE = """
import json, sys
from tars_tasks.aws.clients import Clients, EMULATOR_CREDENTIALS
clients = Clients(region="us-east-1", credentials=EMULATOR_CREDENTIALS, endpoint_url=lambda: "http://127.0.0.1:9")
lam = clients("lambda")
before = {m: m in sys.modules for m in ("boto3", "s3transfer", "rich")}
s3 = clients("s3")
print(json.dumps({"before": before, "boto3_after_s3": "boto3" in sys.modules,
                  "lambda_region": lam.meta.region_name, "endpoint": lam.meta.endpoint_url,
                  "s3_upload_file": hasattr(s3, "upload_file"),
                  "same_credentials": clients.credentials().access_key == "testing"}))
"""


def test_a_lambda_client_alone_imports_neither_boto3_nor_s3transfer():
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["before"] == {"boto3": False, "s3transfer": False, "rich": False}
    assert got["boto3_after_s3"] and got["s3_upload_file"]
    assert got["lambda_region"] == "us-east-1" and got["endpoint"] == "http://127.0.0.1:9"
    assert got["same_credentials"]
