"""The block layout of ``terraform fmt``-formatted .tf files: just enough HCL to write overrides.

Terraform's override files merge by block header, attribute by attribute; a nested block in an
override replaces every block of that type (static or ``dynamic``) of the original. So to change
one expression inside a nested block, an override restates that nested block. This module finds
the pieces to restate. It relies on the layout ``terraform fmt`` guarantees (``inv lint-infra``
checks it): every top-level block and every item in it (attribute or nested block) starts on a
line of its own; an item ends where the brackets it opened close again (strings, ``${...}`` and
heredocs understood). It is not a parser: a file it cannot split raises ``ValueError`` naming the
line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_TOP_OPEN = re.compile(r'^([a-z_]+)((?:\s+"[^"]*")*)\s*\{\s*(\}\s*)?$')
_LABEL = re.compile(r'"([^"]*)"')
_ITEM_BLOCK = re.compile(r'^\s+(\w+)((?:\s+"[^"]*")*)\s*\{\s*(\}\s*)?$')
_ITEM_ATTR = re.compile(r'^\s+(\w+)\s*=')
_HEREDOC = re.compile(r'<<-?([A-Za-z_]\w*)\s*$')


@dataclass(frozen=True)
class Item:
    """One attribute or nested block directly inside a top-level block."""

    kind: str            # "attribute" or "block"
    name: str            # attribute name, or block type (a dynamic block's label)
    text: str            # its source lines, indentation kept
    dynamic: bool = False


@dataclass(frozen=True)
class Block:
    """A top-level block: ``resource "aws_s3_bucket" "ui" {...}``, ``locals {...}``, ..."""

    kind: str                 # resource, data, locals, output, variable, terraform, provider ...
    labels: tuple[str, ...]
    items: tuple[Item, ...]
    path: str
    line: int                 # 1-based line of its header

    @property
    def address(self) -> str:
        """``aws_s3_bucket.ui``, ``data.aws_iam_policy_document.kms``; else kind + labels."""
        if self.kind == "resource" and len(self.labels) == 2:
            return ".".join(self.labels)
        if self.kind == "data" and len(self.labels) == 2:
            return "data." + ".".join(self.labels)
        return " ".join((self.kind, *self.labels))

    @property
    def type(self) -> str:
        return self.labels[0] if self.kind in ("resource", "data") and self.labels else ""

    def attribute(self, name: str) -> Item | None:
        return next((i for i in self.items if i.kind == "attribute" and i.name == name), None)

    def nested(self, name: str) -> tuple[Item, ...]:
        """Every nested block of type ``name``, static and dynamic, in source order."""
        return tuple(i for i in self.items if i.kind == "block" and i.name == name)


_TOKEN = re.compile(r'\\.|"|\$\{|%\{|[()\[\]{}]|#|//')


def _end(lines: list[str], i: int, path: str) -> int:
    """Index of the line after the construct that starts on line ``i``: the line where every
    bracket opened from there is closed again (strings, ``${...}`` and heredocs understood)."""
    stack: list[str] = []
    j = i
    while j < len(lines):
        line = lines[j]
        for token in _TOKEN.finditer(line):
            tok = token.group(0)
            if stack and stack[-1] == '"':
                if tok == '"':
                    stack.pop()
                elif tok in ("${", "%{"):
                    stack.append("{")
            elif tok in ("#", "//"):
                break
            elif tok == '"':
                stack.append('"')
            elif tok in ("(", "[", "{", "${", "%{"):
                stack.append("{" if tok.endswith("{") else tok)
            elif tok in (")", "]", "}"):
                if not stack:
                    raise ValueError(f"{path}:{j + 1}: unbalanced {tok!r}")
                stack.pop()
        heredoc = _HEREDOC.search(line)
        j += 1
        if heredoc and (not stack or stack[-1] != '"'):
            while j < len(lines) and lines[j].strip() != heredoc.group(1):
                j += 1
            j += 1
        if not stack:
            return j
    raise ValueError(f"{path}:{i + 1}: never closes")


def _items(lines: list[str], path: str, first: int) -> tuple[Item, ...]:
    """Split the body lines of one top-level block (``first`` = file line of lines[0])."""
    items: list[Item] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith(("#", "//")):
            i += 1
            continue
        block = _ITEM_BLOCK.match(lines[i])
        attr = None if block else _ITEM_ATTR.match(lines[i])
        if not (block or attr):
            raise ValueError(f"{path}:{first + i}: not laid out as terraform fmt does: {stripped[:60]}")
        j = _end(lines, i, path)
        if block:
            labels = _LABEL.findall(block.group(2))
            dynamic = block.group(1) == "dynamic" and len(labels) == 1
            items.append(Item("block", labels[0] if dynamic else block.group(1), "\n".join(lines[i:j]),
                              dynamic=dynamic))
        else:
            items.append(Item("attribute", attr.group(1), "\n".join(lines[i:j])))
        i = j
    return tuple(items)


def split(text: str, path: str = "<text>") -> tuple[Block, ...]:
    """Every top-level block of one formatted .tf file."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith(("#", "//")):
            i += 1
            continue
        head = _TOP_OPEN.match(line)
        if not head:
            raise ValueError(f"{path}:{i + 1}: not laid out as terraform fmt does: {line.strip()[:60]}")
        j = _end(lines, i, path)
        body = lines[i + 1:j - 1] if not head.group(3) else []
        blocks.append(Block(head.group(1), tuple(_LABEL.findall(head.group(2))), _items(body, path, i + 2),
                            path, i + 1))
        i = j
    return tuple(blocks)


def read_dir(directory: Path) -> tuple[Block, ...]:
    """The blocks of every ``*.tf`` file of ``directory`` (override files excluded), by file name."""
    found: list[Block] = []
    for path in sorted(directory.glob("*.tf")):
        if path.name == "override.tf" or path.name.endswith("_override.tf"):
            continue
        found.extend(split(path.read_text(encoding="utf-8"), path.name))
    return tuple(found)
