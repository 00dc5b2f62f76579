"""A container build context as the docker CLI sends it: every file not excluded by .dockerignore.

.dockerignore rules (docs.docker.com/build/concepts/context/#dockerignore-files): one pattern a
line, '#' comments, paths relative to the context root (a leading '/' is ignored), Go
filepath.Match syntax ('*', '?', '[...]') plus '**' for any number of directories, a pattern
that matches a directory excludes everything below it, '!' re-includes, the last matching line
wins. The Dockerfile and .dockerignore are always sent.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import posixpath
import re
import tarfile
from pathlib import Path

ALWAYS_SENT = ("Dockerfile", ".dockerignore")


def _translate(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                out.append("(?:.*/)?")
                i += 1
            else:
                out.append(".*")
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1:end]
                if body.startswith("^") or body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def read_patterns(context: Path) -> list[tuple[bool, re.Pattern[str]]]:
    """(exclude?, regex) for each .dockerignore line, in order."""
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    rules = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        if include:
            line = line[1:].strip()
        line = posixpath.normpath(line.lstrip("/"))
        if line in (".", ""):
            continue
        rules.append((not include, _translate(line)))
    return rules


def is_excluded(relpath: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """docker's MatchesOrParentMatches: the path or any parent directory decides; last rule wins."""
    parts = relpath.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    excluded = False
    for exclude, regex in rules:
        if any(regex.match(c) for c in candidates):
            excluded = exclude
    return excluded


def files(context: Path) -> list[str]:
    """Relative paths (posix) of the files the build context holds, sorted."""
    context = Path(context)
    rules = read_patterns(context)
    kept = []
    for path in sorted(context.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        rel = path.relative_to(context).as_posix()
        if rel in ALWAYS_SENT or not is_excluded(rel, rules):
            kept.append(rel)
    return kept


def tarball(context: Path) -> bytes:
    """The build context as a .tar.gz (file order and metadata stable, so equal trees give equal bytes)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in files(context):
            info = tar.gettarinfo(str(context / rel), arcname=rel)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if info.isfile():
                with (context / rel).open("rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
    return buffer.getvalue()


def content_hash(context: Path) -> str:
    """SHA-256 over the context's file names and contents (12 hex digits): the tag suffix when dirty."""
    digest = hashlib.sha256()
    for rel in files(context):
        digest.update(rel.encode() + b"\0")
        path = context / rel
        digest.update(path.read_bytes() if path.is_file() else str(path.readlink()).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:12]
