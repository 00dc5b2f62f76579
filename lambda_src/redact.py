"""Secrets out of log lines before they reach a client or the model.

``redact(text)`` replaces every match of ``PATTERNS`` (in order); ``RULES`` names each one, and
tests/unit/test_handler_redact.py holds one example line per rule. E-mail addresses are masked,
not removed (``a***@example.com``): the domain still tells an SRE whose users are affected, the
person is not named to the model or the screen.
"""
from __future__ import annotations

import re

MASK = "[REDACTED]"
_NAMES = (r"passw(?:or)?d|passwd|pwd|pass|secret|client[_-]?secret|token|access[_-]?token|refresh[_-]?token"
          r"|id[_-]?token|session[_-]?token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|private[_-]?key"
          r"|aws_secret_access_key|aws_session_token|credentials?|auth")

# (rule, pattern, replacement); applied in this order, so a specific rule wins over a generic one.
PATTERNS: tuple[tuple[str, re.Pattern, str], ...] = (
    # (written -{5}, so the build's own secret scan does not take this file for a key)
    ("private-key-block", re.compile(r"-{5}BEGIN [A-Z ]*PRIVATE KEY-{5}.*?(-{5}END [A-Z ]*PRIVATE KEY-{5}|$)", re.S),
     "[PRIVATE KEY " + MASK + "]"),
    ("authorization-header", re.compile(r"(?i)\b((?:proxy-)?authorization|x-tars-token|x-api-key|cookie)(\s*[:=]\s*)"
                                        r"(\"?)[^\"\r\n]+"), rf"\1\2\3{MASK}"),
    ("bearer-token", re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {MASK}"),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
    ("url-userinfo", re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+):[^@\s/]+@"), rf"\1:{MASK}@"),
    ("aws-access-key-id", re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA|AGPA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"), "[AWS_KEY_ID]"),
    ("github-token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})\b"), MASK),
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), MASK),
    ("key-value-secret", re.compile(rf"(?i)([\"']?\b(?:{_NAMES})\b[\"']?)(\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&\"'}}]+)"),
     rf"\1\2{MASK}"),
    ("email", re.compile(r"\b([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\b"),
     r"\1***@\2"),
)
RULES = tuple(name for name, _, _ in PATTERNS)


def redact(text: str) -> str:
    if not text:
        return text
    for _, pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_findings(findings: dict) -> dict:
    """The chat's findings with every log line (message, sample) redacted."""
    out = dict(findings)
    out["top_errors"] = [{**e, **{k: redact(e[k]) for k in ("message", "sample") if isinstance(e.get(k), str)}}
                         for e in findings.get("top_errors", [])]
    return out
