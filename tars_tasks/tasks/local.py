"""`inv local.*`: the embedded emulator and every local-mode process."""
from __future__ import annotations

from invoke import Collection

from .. import console
from ..runner import tars_task

SUBCOLLECTION = "local"


@tars_task
def up(c):
    """Start the local AWS emulator (moto server on 127.0.0.1) unless it runs."""
    from ..local import emulator
    from ..settings import Settings

    proc, started = emulator.up(Settings.load(c, local=True))
    console.ok(f"emulator {'started' if started else 'already running'} at {proc.url} (pid {proc.pid})")


@tars_task
def down(c):
    """Stop every process local mode started (emulator, runtime, MCP, site), by recorded pid."""
    from ..local import emulator, processes
    from ..settings import Settings

    settings = Settings.load(c, local=True)
    stopped = []
    for proc in processes.recorded(emulator.proc_dir(settings)):
        if processes.stop(emulator.proc_dir(settings), proc.name):
            stopped.append(f"{proc.name} (pid {proc.pid})")
    console.ok("stopped " + ", ".join(stopped) if stopped else "nothing was running")


@tars_task
def status(c):
    """Show the local processes, their pids, ports and whether they answer."""
    from ..local import emulator, processes
    from ..settings import Settings

    settings = Settings.load(c, local=True)
    rows = []
    for proc in processes.recorded(emulator.proc_dir(settings)):
        alive = processes.pid_runs(proc)
        rows.append((proc.name, proc.pid, proc.url, "running" if alive else "dead (stale record)"))
    if not rows:
        console.info("local mode: nothing running (inv local.up starts the emulator)")
        return
    console.table("local mode", ["process", "pid", "url", "state"], rows)


@tars_task
def reset(c):
    """Wipe every resource in the local emulator (the processes keep running)."""
    from ..local import emulator
    from ..settings import Settings

    if emulator.reset(Settings.load(c, local=True)):
        console.ok("local emulator wiped")
    else:
        console.info("the local emulator is not running: nothing to wipe")


ns = Collection(up, down, status, reset)
