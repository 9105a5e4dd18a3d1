"""A tiny process that stops a private cluster once the process that started it has ended.

Test sessions start it beside their throw-away cluster (:meth:`schema.cluster.Cluster.stop_with`):
if pytest is killed (SIGKILL, a CI timeout) before its fixtures can clean up, the watchdog still
stops the server and removes the folder, so nothing is left running.

Run as ``python -m schema.watchdog PID CLUSTER_FOLDER [--remove]``.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
import time
from pathlib import Path

from schema.cluster import Cluster, _process_alive

POLL_S = 1.0
"""Seconds between two checks of the watched process."""


def watch(pid: int, folder: Path, *, remove: bool = False) -> None:
    """Wait until process ``pid`` has ended, then stop the cluster in ``folder`` (and delete it)."""
    while _process_alive(pid):
        time.sleep(POLL_S)
    if not folder.exists():
        return
    with contextlib.suppress(Exception):
        Cluster(folder).stop()
    if remove:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    """Command-line entry: ``PID FOLDER [--remove]``."""
    logging.basicConfig(level=logging.WARNING)
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 2:
        sys.stderr.write("usage: python -m schema.watchdog PID CLUSTER_FOLDER [--remove]\n")
        return 2
    watch(int(args[0]), Path(args[1]), remove="--remove" in argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
