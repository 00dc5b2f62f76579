"""Placeholder code of a freshly created function: inv deploy-lambda replaces it."""
import json


def lambda_handler(event, context):
    return {"statusCode": 503, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"error": "TARS is not deployed yet: run inv deploy-lambda"})}
