"""`inv config`: every setting, its value and where it came from (secrets redacted)."""
from __future__ import annotations

from invoke import Collection

from .. import console
from ..errors import ConfigError
from ..skeleton import READS, tars_task


@tars_task(common=READS, help={"check": "exit 2 naming each missing or malformed value"})
def config(c, flags, check=False):
    """Show every setting with its value and source; --check validates them."""
    from ..settings import Settings

    settings = Settings.load(c, **flags.settings)
    console.table(f"TARS settings (env {settings.env})", ["setting", "variable", "value", "source"],
                  settings.rows())
    problems = settings.check()
    console.write_report(flags.json, {"env": settings.env, "settings": settings.as_dict(redact=True),
                                "sources": {name: settings.source(name) for name in settings.as_dict()},
                                "problems": problems})
    if check:
        if problems:
            raise ConfigError(f"{len(problems)} setting(s) missing or malformed",
                              "set them in .env.<env> or the environment, or run inv deploy-infrastructure",
                              details=problems)
        console.ok("every setting present and well-formed")


ns = Collection(config)
