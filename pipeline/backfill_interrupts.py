"""Ctrl-C for a backfill on a local cluster: the worker processes leave it to the backfill.

A terminal sends Ctrl-C (SIGINT) to every process of its foreground group, the worker processes
of a local Dask cluster included. Those die of it, and their nannies, taking it for a shutdown,
do not start them again: the scenes in flight would wait forever for their tasks. Worker processes
started inside :func:`children_ignore_interrupts` ignore SIGINT (an ignored signal stays ignored
across ``exec``), so Ctrl-C reaches the backfill alone, which stops starting scenes and lets the
ones in flight finish on workers that are still there.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def children_ignore_interrupts() -> Iterator[None]:
    """Processes started in the block ignore SIGINT; this process's handler comes back after.

    This process ignores Ctrl-C for the length of the block too (start the cluster in it, a few
    seconds, and nothing else). Outside the main thread, where signals cannot be handled, it does
    nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
