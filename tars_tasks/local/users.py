"""Local sign-in passwords: the emulator delivers no e-mail, so ``inv users.add --local`` generates
the password here and keeps it in ``.tars/local/users/<email>.password`` (mode 0600).

A local demo secret: generated fresh for each user, never reused for AWS, never printed (only
the file's path is), registered with the console so no report or log line can carry it.
"""
from __future__ import annotations

import os
import secrets
import string
from pathlib import Path

SYMBOLS = "!#%+-.:=?@^_~"
LENGTH = 20   # the pool's policy: 14+ characters with upper, lower, digit and symbol


def new_password(length: int = LENGTH) -> str:
    """A random password the pool's policy accepts (one of each class, the rest mixed)."""
    classes = (string.ascii_uppercase, string.ascii_lowercase, string.digits, SYMBOLS)
    chars = [secrets.choice(c) for c in classes]
    chars += [secrets.choice("".join(classes)) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    from .. import console

    password = "".join(chars)
    console.register_secret(password)
    return password


def password_file(settings, email: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "@._-+" else "_" for ch in email.lower())
    return settings.state_dir / "users" / f"{safe}.password"


def keep_password(settings, email: str, password: str) -> Path:
    """Write ``password`` for ``email``, readable by this user only. Returns the file."""
    path = password_file(settings, email)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    os.chmod(path, 0o600)
    return path


def read_password(settings, email: str) -> str | None:
    try:
        return password_file(settings, email).read_text().strip() or None
    except OSError:
        return None


def forget_password(settings, email: str) -> None:
    password_file(settings, email).unlink(missing_ok=True)
