"""A generated Vite-like dist/ with every file kind, and the bucket + distribution it deploys to.

``write_dist(dist, app="v1")`` writes index.html, a nested help/index.html and hashed assets
(.js .mjs .css .svg .woff2 .wasm .js.map) plus non-hashed files (manifest.webmanifest,
favicon.svg, config.json, robots.txt). Only the main JS depends on ``app``: changing it is
"one source file changed" (new hashed JS + index.html). The page renders only when the
browser accepts every Content-Type (module scripts, CSS and wasm streaming are strict).
"""
from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

WASM_EMPTY_MODULE = b"\x00asm\x01\x00\x00\x00"


def vite_hash(data: bytes) -> str:
    h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode()[:8]
    return h if any(c.isdigit() or c.isupper() for c in h) else "A" + h[1:]


def _hashed(dist: Path, stem: str, ext: str, data: bytes) -> str:
    name = f"assets/{stem}-{vite_hash(data)}{ext}"
    (dist / name).write_bytes(data)
    return name


def write_dist(dist: Path, app: str = "v1", extra_files: int = 0, extra_bytes: int = 0) -> dict[str, str]:
    """Write the site; returns {kind: key}. ``extra_files`` hashed chunks of ``extra_bytes`` each."""
    dist = Path(dist)
    (dist / "assets").mkdir(parents=True, exist_ok=True)
    (dist / "help").mkdir(exist_ok=True)
    keys: dict[str, str] = {}
    keys["mjs"] = _hashed(dist, "chunk", ".mjs", b"export const product = 'TARS';\n")
    keys["css"] = _hashed(dist, "index", ".css", b"body{font-family:sans-serif;margin:2rem}#status{color:#063}\n")
    keys["svg"] = _hashed(dist, "logo", ".svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16">'
                                               b'<rect width="16" height="16" fill="#063"/></svg>\n')
    keys["woff2"] = _hashed(dist, "inter", ".woff2", b"wOF2" + bytes(60))
    keys["wasm"] = _hashed(dist, "triage", ".wasm", WASM_EMPTY_MODULE)
    mjs, svg, woff2, wasm = (keys[k].split("/", 1)[1] for k in ("mjs", "svg", "woff2", "wasm"))
    js = f"""import {{ product }} from './{mjs}';
const expect = async (url, type) => {{
  const r = await fetch(url);
  if (!r.ok || !(r.headers.get('content-type') || '').startsWith(type)) throw new Error(url + ' ' + r.status);
  return r;
}};
const config = await (await expect('/config.json', 'application/json')).json();
await WebAssembly.instantiateStreaming(fetch('/assets/{wasm}'));
await expect('/assets/{woff2}', 'font/woff2');
await expect('/manifest.webmanifest', 'application/manifest+json');
const img = document.createElement('img');
img.src = '/assets/{svg}';
await new Promise((ok, bad) => {{ img.onload = ok; img.onerror = () => bad(new Error('svg')); }});
document.getElementById('root').innerHTML =
  '<h1>' + product + ' triage</h1><p id="status">ready {app} ' + config.apiEndpoint + '</p>';
document.getElementById('root').appendChild(img);
//# sourceMappingURL=main.js.map
""".encode()
    keys["js"] = _hashed(dist, "index", ".js", js)
    keys["map"] = keys["js"] + ".map"
    (dist / keys["map"]).write_bytes(b'{"version":3,"sources":["main.tsx"],"mappings":""}\n')
    for i in range(extra_files):
        seed = f"chunk {i}\n".encode()
        body = (seed * (extra_bytes // len(seed) + 1))[:extra_bytes] if extra_bytes else seed
        _hashed(dist, f"vendor{i}", ".js", body)
    index = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TARS</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="manifest" href="/manifest.webmanifest">
<link rel="stylesheet" href="/{keys['css']}">
<script type="module" src="/{keys['js']}"></script>
</head><body><div id="root"></div></body></html>
"""
    (dist / "index.html").write_text(index)
    (dist / "help" / "index.html").write_text(f"<!doctype html><title>help</title><link rel='stylesheet' "
                                            f"href='/{keys['css']}'><p>TARS help</p>\n")
    (dist / "favicon.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>\n')
    (dist / "manifest.webmanifest").write_text('{"name":"TARS","start_url":"/","icons":[]}\n')
    (dist / "config.json").write_text('{"apiEndpoint":"http://127.0.0.1/api"}\n')
    (dist / "robots.txt").write_text("User-agent: *\nDisallow:\n")
    keys.update(html="index.html", webmanifest="manifest.webmanifest", json="config.json", txt="robots.txt")
    return keys


def touch_all(dist: Path) -> None:
    """A fresh checkout: every file gets a new mtime."""
    for p in Path(dist).rglob("*"):
        if p.is_file():
            os.utime(p)


RECORDS_BUCKET = "sre-poc-artifacts-123456789012"   # the private bucket of release records (TARS_ARTIFACT_BUCKET)


def make_site(bucket: str = "sre-poc-ui-123456789012", versioned: bool = True) -> tuple[str, str]:
    """Create the UI bucket, a CloudFront distribution in front of it, and the private bucket that
    holds release records (RECORDS_BUCKET: pass it as TARS_ARTIFACT_BUCKET). Returns (bucket, id)."""
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    if RECORDS_BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=RECORDS_BUCKET)
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    cf = boto3.client("cloudfront", region_name="us-east-1")
    origin = f"{bucket}.s3.amazonaws.com"
    dist = cf.create_distribution(DistributionConfig={
        "CallerReference": bucket, "Comment": "TARS UI", "Enabled": True, "DefaultRootObject": "index.html",
        "Origins": {"Quantity": 1, "Items": [{"Id": "ui", "DomainName": origin,
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "ui", "ViewerProtocolPolicy": "redirect-to-https",
                                 "MinTTL": 0, "ForwardedValues": {"QueryString": False,
                                                                  "Cookies": {"Forward": "none"}},
                                 "TrustedSigners": {"Enabled": False, "Quantity": 0}},
    })
    return bucket, dist["Distribution"]["Id"]
