"""`inv local.*`: the embedded emulator and every local-mode process."""
from __future__ import annotations

from invoke import Collection

from .. import console
from ..skeleton import tars_task

SUBCOLLECTION = "local"


ENV_HELP = {"env": "the local environment (default local; inv deploy --local --env dev keeps dev's apart, "
                   "in .tars/local-dev)"}


@tars_task(common=("env",), help=ENV_HELP)
def up(c, flags):
    """Start the local emulator (moto on 127.0.0.1), then the runtime and site once the infrastructure exists.

    The function runtime and the site server start only when .tars/local/outputs.json exists
    (after inv deploy-infrastructure --local)."""
    from ..local import emulator, services
    from ..settings import Settings

    settings = Settings.load(c, local=True, env=flags.env)
    settings.ensure_valid()   # a malformed value (e.g. TARS_WARM_POOL_SIZE) refused before anything starts
    proc, started = emulator.up(settings)
    console.ok(f"emulator {'started' if started else 'already running'} at {proc.url} (pid {proc.pid})")
    if not (settings.state_dir / "outputs.json").is_file():
        return
    settings.target.use(proc.url)
    for name, server in services.ensure(settings).items():
        console.ok(f"{name} at {server.url} (pid {server.pid})")
    if started:
        console.warn("the emulator started empty (it keeps its state in memory): "
                     "run inv deploy --all --local to recreate and redeploy everything")


@tars_task(common=("env",), help={"env": "stop only this local environment's processes (default: every env's)"})
def down(c, flags):
    """Stop every process local mode started (emulator, runtime, MCP, site), by recorded pid."""
    from ..local import emulator, processes
    from ..settings import Settings

    settings = Settings.load(c, local=True, env=flags.env)
    stopped = []
    for proc_dir in [emulator.proc_dir(settings)] if flags.env else emulator.every_proc_dir(settings):
        for proc in sorted(processes.recorded(proc_dir), key=lambda p: p.name == emulator.NAME):  # the emulator last
            if processes.stop(proc_dir, proc.name):
                stopped.append(f"{proc.name} (pid {proc.pid})")
    console.ok("stopped " + ", ".join(stopped) if stopped else "nothing was running")


@tars_task(common=("env",), help=ENV_HELP)
def status(c, flags):
    """Show the local processes, their pids, ports and whether they answer."""
    from ..local import emulator, processes
    from ..settings import Settings

    settings = Settings.load(c, local=True, env=flags.env)
    rows = []
    for proc in processes.recorded(emulator.proc_dir(settings)):
        alive = processes.pid_runs(proc)
        rows.append((proc.name, proc.pid, proc.url, "running" if alive else "dead (stale record)"))
    if not rows:
        console.info("local mode: nothing running (inv local.up starts the emulator)")
        return
    console.table("local mode", ["process", "pid", "url", "state"], rows)
    if settings.site_url and (settings.state_dir / "outputs.json").is_file():
        console.ok(f"TARS UI: {settings.site_url}/  (API: {settings.vite_api_endpoint})")


@tars_task(common=("env",), help=ENV_HELP)
def reset(c, flags):
    """Wipe every resource in the local emulator (the processes keep running)."""
    from ..local import emulator
    from ..settings import Settings

    if emulator.reset(Settings.load(c, local=True, env=flags.env)):
        console.ok("local emulator wiped")
    else:
        console.info("the local emulator is not running: nothing to wipe")


ns = Collection(up, down, status, reset)
