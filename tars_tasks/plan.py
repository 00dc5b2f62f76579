"""What every plan is: plain frozen data made by reading only, that ``execute`` carries out.

A plan class (a frozen dataclass) subclasses :class:`Plan` and says its ``component``, what is
live (``before``), what would be (``after``), ``has_changes`` and ``summary()`` (one line per
thing ``execute`` will do). ``preview()`` is the display-only executor: the Outcome of
``--dry-run``, rendered from the same plan the real run executes, so the two cannot disagree.
"""
from __future__ import annotations

from typing import Any


class Plan:
    component = ""

    @property
    def has_changes(self) -> bool:
        raise NotImplementedError

    @property
    def before(self) -> Any:
        return None

    @property
    def after(self) -> Any:
        return None

    def summary(self) -> list[str]:
        raise NotImplementedError

    def preview(self):
        """The Outcome of a dry run of this plan: planned (what it would do), or unchanged."""
        from .outcome import PLANNED, UNCHANGED, Outcome

        return Outcome(self.component, PLANNED if self.has_changes else UNCHANGED,
                       None if self.before is None else str(self.before),
                       None if self.after is None else str(self.after), "; ".join(self.summary()))
