"""The UI's upload order, the safety core: assets in parallel first, HTML after, index.html last.

``run_ordered`` is shared by deploys (uploads, header copies) and rollbacks (version restores).
HTML is touched only when every asset succeeded; a failure stops the remaining transfers and
raises StepFailed saying the site still serves the previous release.
"""
from __future__ import annotations

from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any, Callable, Sequence

from .. import console
from ..artifacts.ui_bundle import is_html
from ..errors import StepFailed, TarsError


def _key(item: Any) -> str:
    return item["key"] if isinstance(item, dict) else item.key


def _size(item: Any) -> int:
    return int(item.get("size", 0) if isinstance(item, dict) else item.size)


def html_order(items: Sequence[Any]) -> list[Any]:
    """HTML files with the root index.html the very last."""
    html = sorted((i for i in items if is_html(_key(i))), key=lambda i: (_key(i) == "index.html", _key(i)))
    return html


def run_ordered(items: Sequence[Any], transfer: Callable[[Any], str | None], *, workers: int,
                live: str | None, what: str) -> dict[str, str | None]:
    """Run ``transfer`` on every item, assets first (parallel), then HTML in order. {key: version id}."""
    assets = [i for i in items if not is_html(_key(i))]
    html = html_order(items)
    versions: dict[str, str | None] = {}
    still = f"the site still serves release {live}" if live else "the site was not switched"
    with console.progress(f"{what} {len(items)} files", len(items), sum(_size(i) for i in items)) as bar:
        if assets:
            pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="tars-ui")
            try:
                futures = {pool.submit(transfer, item): item for item in assets}
                pending = set(futures)
                while pending:
                    done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                    failed = [f for f in done if f.exception() is not None]
                    for fut in done:
                        if fut.exception() is None:
                            versions[_key(futures[fut])] = fut.result()
                            bar.advance(_size(futures[fut]), _key(futures[fut]))
                    if failed:
                        for fut in pending:
                            fut.cancel()
                        wait(pending)
                        exc = failed[0].exception()
                        reason = exc.message if isinstance(exc, TarsError) else str(exc)
                        raise StepFailed(f"{what} of {_key(futures[failed[0]])} failed; no HTML was touched, "
                                         f"{still}", "fix the cause and run the deploy again: files already "
                                         "uploaded are skipped", details=[reason]) from exc
            finally:  # on a failure or Ctrl-C, queued transfers never start; running ones finish
                pool.shutdown(wait=True, cancel_futures=True)
        for item in html:
            try:
                versions[_key(item)] = transfer(item)
            except TarsError as exc:
                raise StepFailed(f"{what} of {_key(item)} failed after every asset succeeded",
                                 "run the deploy again: it finishes the HTML switch", details=[exc.message]) from exc
            bar.advance(_size(item), _key(item))
    return versions
