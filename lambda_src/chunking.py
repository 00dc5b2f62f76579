"""Document text → chunks: parse (markdown/text, PDF with pypdf), split on headings, overlap."""
from __future__ import annotations

import io
import re

MAX_CHUNK = 1500   # characters
OVERLAP = 200      # characters carried over between windows of one long section
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


class Unreadable(Exception):
    """The file's content does not fit its format (named by its extension): the document fails."""


# Leading bytes of the binary kinds people upload by mistake, to name them in the reason.
_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
               (b"GIF87a", "a GIF image"), (b"GIF89a", "a GIF image"), (b"%PDF-", "a PDF (name it .pdf)"),
               (b"PK\x03\x04", "a ZIP archive (or a .docx/.xlsx)"), (b"\x1f\x8b", "a gzip archive"),
               (b"\xd0\xcf\x11\xe0", "an old Office document"), (b"\x7fELF", "an executable"))


def _binary_kind(data: bytes) -> str | None:
    return next((kind for magic, kind in _SIGNATURES if data.startswith(magic)), None)


def _pdf_text(data: bytes) -> str:
    if b"%PDF-" not in data[:1024]:  # the header must be in the first 1024 bytes (PDF 1.7, 7.5.2)
        raise Unreadable(f"the file is not a PDF{': it is ' + _binary_kind(data) if _binary_kind(data) else ''}")
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        reader = PdfReader(io.BytesIO(data))
        return "\n\n".join((page.extract_text() or "") for page in reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError):
        raise Unreadable("the file is not a readable PDF") from None


def _plain_text(data: bytes, fmt: str) -> str:
    kind = _binary_kind(data)
    if kind:
        raise Unreadable(f"the file is named .{fmt} but it is {kind}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise Unreadable(f"the file is named .{fmt} but it is not UTF-8 text (byte {err.start}): save it as UTF-8") from None
    if "\x00" in text:
        raise Unreadable(f"the file is named .{fmt} but it holds binary data (NUL bytes)")
    return text.lstrip("\ufeff")


def extract_text(data: bytes, fmt: str) -> str:
    """The text of a file in ``fmt`` (md, txt or pdf); Unreadable when the content is not that."""
    text = _pdf_text(data) if fmt == "pdf" else _plain_text(data, fmt)
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise Unreadable("the document has no text")
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
