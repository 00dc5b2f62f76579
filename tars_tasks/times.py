"""Time as TARS reads and writes it (one source each): the ``--since`` window of `inv logs` and
`inv verify`, and the sortable UTC stamp every release id starts with."""
from __future__ import annotations

import re
import time

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SINCE_HINT = "use a duration like 10m, 2h or 1d, or an ISO time like 2026-01-31T09:00:00Z"


def parse_since(text: str, now: float) -> float:
    """--since as epoch seconds: 10m, 2h, 1d (also 30s) before ``now``, or an ISO 8601 time (UTC
    if no zone). An empty window, anything else and a time in the future are UsageErrors."""
    from datetime import datetime, timezone

    from .errors import UsageError

    value = (text or "").strip()
    match = re.fullmatch(r"(\d+)\s*([smhd])", value)
    if match:
        amount = int(match.group(1))
        if amount == 0:
            raise UsageError(f"--since {text!r} is an empty window", SINCE_HINT)
        return now - amount * UNITS[match.group(2)]
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since {text!r} is neither a duration nor an ISO time", SINCE_HINT) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if moment.timestamp() > now:
        raise UsageError(f"--since {text!r} is in the future", SINCE_HINT)
    return moment.timestamp()


def stamp(now: float) -> str:
    """The sortable UTC stamp of a release id, to the millisecond: 20261128T010500123Z."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{int(now * 1000) % 1000:03d}Z"
