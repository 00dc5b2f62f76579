"""GitHub REST API: was HEAD's pull request approved? (preflight's review item).

The token goes in the Authorization header only (never argv, never printed). The API base is a
setting so tests answer from a local server.
"""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import ConfigError, StepFailed

_REMOTE = re.compile(r"github\.com[:/](?P<owner>[^/]+)/(?P<repo>[^/]+?)(?:\.git)?/?$")


def repository(root: Path, remote: str = "origin") -> tuple[str, str]:
    """(owner, repo) of ``remote``'s GitHub URL."""
    from . import git

    urls = []
    for extra in ((), ("--push",)):  # fetch URLs, then push URLs (a mirror may fetch elsewhere)
        urls += git._git(root, "remote", "get-url", "--all", *extra, remote, check=False).stdout.split()
    for url in urls:
        match = _REMOTE.search(url)
        if match:
            return match.group("owner"), match.group("repo")
    raise ConfigError(f"remote {remote} ({', '.join(urls) or 'none'}) is not a GitHub repository",
                      "unset GITHUB_TOKEN to skip the pull request check")


def _get(api: str, path: str, token: str, timeout: float) -> object:
    request = urllib.request.Request(api.rstrip("/") + path, headers={
        "Accept": "application/vnd.github+json", "Authorization": f"Bearer {token}",
        "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "tars-deploy-tasks"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise ConfigError(f"GitHub refused the token (HTTP {exc.code})",
                              "check GITHUB_TOKEN (it needs read access to pull requests)") from None
        raise StepFailed(f"GitHub API {path} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise StepFailed(f"GitHub API {path} failed: {getattr(exc, 'reason', exc)}") from None


def approved_pull_request(api: str, owner: str, repo: str, sha: str, token: str,
                          timeout: float = 20.0) -> tuple[int | None, bool]:
    """(number of the pull request that brought ``sha``, whether a review approved it)."""
    pulls = _get(api, f"/repos/{owner}/{repo}/commits/{sha}/pulls", token, timeout) or []
    if not pulls:
        return None, False
    for pr in pulls:
        reviews = _get(api, f"/repos/{owner}/{repo}/pulls/{pr['number']}/reviews", token, timeout) or []
        latest: dict[str, str] = {}
        for review in reviews:  # each reviewer's latest decisive review counts
            if review.get("state") in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                latest[(review.get("user") or {}).get("login", "?")] = review["state"]
        if "APPROVED" in latest.values() and "CHANGES_REQUESTED" not in latest.values():
            return pr["number"], True
    return pulls[0]["number"], False
