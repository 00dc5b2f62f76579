"""S3: listing, uploads with a stored content hash, copy-in-place, object versions, deletes."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from ..errors import ConfigError
from .errors import error_code, translate

HASH_METADATA = "sha256"          # x-amz-meta-sha256: the body's SHA-256 (multipart ETags are not MD5s)
MULTIPART_THRESHOLD = 8 * 1024 * 1024
NO_BUCKET_HINT = "check TARS_UI_BUCKET (inv config), or run inv deploy-infrastructure first"


def _etag(value: str | None) -> str:
    return (value or "").strip('"')


def _not_found(exc: Exception) -> bool:
    return error_code(exc) in ("404", "NoSuchKey", "NotFound", "NoSuchVersion", "NoSuchBucket")


def check_bucket(clients, bucket: str) -> None:
    """ConfigError (exit 2) naming the bucket when it does not exist or cannot be reached."""
    from botocore.exceptions import ClientError

    try:
        clients("s3").head_bucket(Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
            raise ConfigError(f"S3 bucket {bucket} does not exist", NO_BUCKET_HINT) from None
        with translate(f"reach S3 bucket {bucket}", NO_BUCKET_HINT):
            raise


def versioning_enabled(clients, bucket: str) -> bool:
    """True when versioning is on; ConfigError (exit 2) naming the bucket when it does not exist."""
    from botocore.exceptions import ClientError

    try:
        return clients("s3").get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled"
    except ClientError as exc:
        if error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
            raise ConfigError(f"S3 bucket {bucket} does not exist", NO_BUCKET_HINT) from None
        with translate(f"read the versioning of bucket {bucket}", NO_BUCKET_HINT):
            raise


def list_objects(clients, bucket: str, prefix: str = "") -> dict[str, dict[str, Any]]:
    """{key: {etag, size}} of every current object under ``prefix`` (paginated)."""
    out: dict[str, dict[str, Any]] = {}
    with translate(f"list bucket {bucket}", NO_BUCKET_HINT):
        for page in clients("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                out[obj["Key"]] = {"etag": _etag(obj.get("ETag")), "size": obj.get("Size", 0)}
    return out


def head(clients, bucket: str, key: str, version_id: str | None = None) -> dict[str, Any] | None:
    """Headers, metadata and version of one object (or one version); None when absent."""
    from botocore.exceptions import ClientError

    args = {"Bucket": bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
    try:
        r = clients("s3").head_object(**args)
    except ClientError as exc:
        if _not_found(exc) or error_code(exc) in ("400", "InvalidArgument"):
            return None
        with translate(f"read s3://{bucket}/{key}"):
            raise
    return {"etag": _etag(r.get("ETag")), "size": r.get("ContentLength", 0),
            "content_type": r.get("ContentType"), "cache_control": r.get("CacheControl"),
            "metadata": r.get("Metadata") or {}, "version_id": r.get("VersionId")}


def put_file(clients, bucket: str, key: str, path: Path, *, content_type: str, cache_control: str,
             sha256: str, multipart_threshold: int | None = None) -> str | None:
    """Upload one file (put_object, or s3transfer's multipart upload when big). Returns its version id."""
    s3 = clients("s3")
    multipart_threshold = multipart_threshold or MULTIPART_THRESHOLD
    extra = {"ContentType": content_type, "CacheControl": cache_control, "Metadata": {HASH_METADATA: sha256}}
    with translate(f"upload s3://{bucket}/{key}", NO_BUCKET_HINT):
        if path.stat().st_size < multipart_threshold:
            with path.open("rb") as body:
                return s3.put_object(Bucket=bucket, Key=key, Body=body, **extra).get("VersionId")
        from boto3.s3.transfer import TransferConfig

        s3.upload_file(str(path), bucket, key, ExtraArgs=extra,
                       Config=TransferConfig(multipart_threshold=multipart_threshold, max_concurrency=4))
        return s3.head_object(Bucket=bucket, Key=key).get("VersionId")


def copy_in_place(clients, bucket: str, key: str, *, content_type: str, cache_control: str, sha256: str) -> str | None:
    """Rewrite one object's headers without re-sending its body. Returns the new version id."""
    with translate(f"update the headers of s3://{bucket}/{key}"):
        r = clients("s3").copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key},
                                     MetadataDirective="REPLACE", ContentType=content_type,
                                     CacheControl=cache_control, Metadata={HASH_METADATA: sha256})
    return r.get("VersionId")


def restore_version(clients, bucket: str, key: str, version_id: str) -> str | None:
    """Make an old version of ``key`` the current object again (body and headers)."""
    with translate(f"restore s3://{bucket}/{key} version {version_id}"):
        r = clients("s3").copy_object(Bucket=bucket, Key=key, MetadataDirective="COPY",
                                     CopySource={"Bucket": bucket, "Key": key, "VersionId": version_id})
    return r.get("VersionId")


def put_json(clients, bucket: str, key: str, data: dict) -> str | None:
    body = json.dumps(data, indent=1, sort_keys=True).encode()
    with translate(f"write s3://{bucket}/{key}"):
        return clients("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json",
                                       CacheControl="no-store").get("VersionId")


def get_json(clients, bucket: str, key: str) -> dict:
    with translate(f"read s3://{bucket}/{key}"):
        return json.loads(clients("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def get_json_or_none(clients, bucket: str, key: str) -> dict | None:
    """The JSON object at ``key``; None when there is no such key."""
    from botocore.exceptions import ClientError

    try:
        with translate(f"read s3://{bucket}/{key}"):
            body = clients("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:  # noqa: BLE001 - only a missing key is an answer
        cause = exc.__cause__ if isinstance(exc.__cause__, ClientError) else exc
        if isinstance(cause, ClientError) and _not_found(cause) and error_code(cause) != "NoSuchBucket":
            return None
        raise
    return json.loads(body)


def copy(clients, source_bucket: str, source_key: str, bucket: str, key: str) -> str | None:
    """Server-side copy of one object (body, content type, metadata) to another bucket or key."""
    with translate(f"copy s3://{source_bucket}/{source_key} to s3://{bucket}/{key}"):
        r = clients("s3").copy_object(Bucket=bucket, Key=key, MetadataDirective="COPY",
                                     CopySource={"Bucket": source_bucket, "Key": source_key})
    return r.get("VersionId")


def get_bytes(clients, bucket: str, key: str) -> bytes:
    with translate(f"read s3://{bucket}/{key}"):
        return clients("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def get_object(clients, bucket: str, key: str) -> dict[str, Any] | None:
    """One object's body and stored headers; None when it is not there (AWS answers AccessDenied
    instead of NoSuchKey to a caller without s3:ListBucket)."""
    from botocore.exceptions import ClientError

    try:
        with translate(f"read s3://{bucket}/{key}"):
            r = clients("s3").get_object(Bucket=bucket, Key=key)
            body = r["Body"].read()
    except Exception as exc:  # noqa: BLE001 - only a missing key is an answer
        cause = exc.__cause__ if isinstance(exc.__cause__, ClientError) else exc
        if isinstance(cause, ClientError) and error_code(cause) in ("NoSuchKey", "404", "AccessDenied"):
            return None
        raise
    return {"body": body, "content_type": r.get("ContentType"), "cache_control": r.get("CacheControl"),
            "content_encoding": r.get("ContentEncoding"), "etag": r.get("ETag", ""), "version_id": r.get("VersionId")}


def delete_keys(clients, bucket: str, keys: Iterable[str]) -> int:
    """Delete the current objects (versions stay in a versioned bucket). Returns how many."""
    keys = sorted(keys)
    s3 = clients("s3")
    done = 0
    for start in range(0, len(keys), 1000):
        batch = keys[start:start + 1000]
        with translate(f"delete {len(batch)} objects from {bucket}"):
            r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
        if r.get("Errors"):
            first = r["Errors"][0]
            with translate(f"delete {first.get('Key')} from {bucket}"):
                from botocore.exceptions import ClientError

                raise ClientError({"Error": {"Code": first.get("Code"), "Message": first.get("Message")}},
                                  "DeleteObjects")
        done += len(batch)
    return done
