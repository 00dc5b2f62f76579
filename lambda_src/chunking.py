"""Document text → chunks: parse (markdown/text, PDF with pypdf), split on headings, overlap."""
from __future__ import annotations

import io
import re

from validation import ApiError

MAX_CHUNK = 1500   # characters
OVERLAP = 200      # characters carried over between windows of one long section
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def extract_text(data: bytes, doc_type: str) -> str:
    if doc_type == "pdf":
        try:
            from pypdf import PdfReader
            from pypdf.errors import PyPdfError

            reader = PdfReader(io.BytesIO(data))
            text = "\n\n".join((page.extract_text() or "") for page in reader.pages)
        except (PyPdfError, ValueError, KeyError, TypeError, OSError):
            raise ApiError(400, "the file is not a readable PDF") from None
    else:
        text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise ApiError(400, "the document has no text")
    return text


def sections(text: str) -> list[tuple[str, str]]:
    """(heading path, body) per markdown section; text without headings is one section."""
    path: list[str] = []
    current: list[str] = []
    out: list[tuple[str, str]] = []
    heading = ""
    for line in text.split("\n"):
        m = _HEADING.match(line)
        if m:
            if "\n".join(current).strip():
                out.append((heading, "\n".join(current).strip()))
            level = len(m.group(1))
            path = path[: level - 1] + [m.group(2)]
            heading = " > ".join(path)
            current = []
        else:
            current.append(line)
    if "\n".join(current).strip() or not out:
        out.append((heading, "\n".join(current).strip()))
    return out


def _windows(body: str) -> list[str]:
    if len(body) <= MAX_CHUNK:
        return [body]
    out, start = [], 0
    while start < len(body):
        end = min(len(body), start + MAX_CHUNK)
        if end < len(body):  # end on a paragraph/line/word break when there is one
            cut = max(body.rfind("\n\n", start + MAX_CHUNK // 2, end), body.rfind("\n", start + MAX_CHUNK // 2, end),
                      body.rfind(" ", start + MAX_CHUNK // 2, end))
            end = cut if cut > start else end
        out.append(body[start:end].strip())
        if end >= len(body):
            break
        nxt = max(end - OVERLAP, start + 1)
        space = min((i for i in (body.find(" ", nxt, end), body.find("\n", nxt, end)) if i != -1), default=-1)
        start = space + 1 if space != -1 else nxt  # start the overlap on a word boundary
    return [w for w in out if w]


def chunk(text: str, title: str = "") -> list[str]:
    """Chunks of at most ~MAX_CHUNK characters, each prefixed with its heading path."""
    chunks: list[str] = []
    for heading, body in sections(text):
        label = heading or title
        for window in _windows(body) if body else ([heading] if heading else []):
            chunks.append(f"{label}\n{window}".strip() if label and window != label else window)
    return [c for c in chunks if c.strip()]
