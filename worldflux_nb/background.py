"""Work handed to one background thread while the caller's thread goes on (the packet command's
reading of its audit inputs and its random draws).

The machine's second core is worth having only for work that releases the GIL: Parquet reads,
SHA-256 over large buffers, numpy's random draws and array kernels. Whatever runs here must give
exactly what running it in place gives (its own inputs, its own random generator, nothing shared
that it writes to, no pydantic model built for the first time, no import of its own), and must not
wait for another call handed here (they run one after another, in the order handed over). Each call
runs in a copy of the caller's context (contextvars: the files a command reads are recorded there, so
that no output replaces them). A Future's `result()` returns the value or raises the exception where
the caller asks for it.
"""

from __future__ import annotations

import contextvars
import os
import threading
from concurrent.futures import Future
from functools import partial
from queue import SimpleQueue
from typing import Any, Callable, Sequence, TypeVar

T = TypeVar("T")

_queue: SimpleQueue[tuple[Callable[[], Any], Future[Any]]] | None = None
_lock = threading.Lock()


def started(work: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """`work(*args, **kwargs)` handed to the background thread."""
    return started_in_turn([lambda: work(*args, **kwargs)])[0]


def started_in_turn(calls: Sequence[Callable[[], T]]) -> list[Future[T]]:
    """Each call handed to the background thread, to run after those handed before; a Future each."""
    global _queue
    with _lock:
        if _queue is None:
            _queue = SimpleQueue()
            # A daemon: an interrupted command does not wait for what is still queued.
            threading.Thread(target=_work, args=(_queue,), name="wfnb-background", daemon=True).start()
        context = contextvars.copy_context()
        futures: list[Future[T]] = []
        for call in calls:
            futures.append(Future())
            _queue.put((partial(context.run, call), futures[-1]))
    return futures


def _work(queue: SimpleQueue[tuple[Callable[[], Any], Future[Any]]]) -> None:
    while True:
        call, future = queue.get()
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(call())
        except BaseException as exc:  # handed to whoever asks for the result
            future.set_exception(exc)


def _forget_in_child() -> None:
    global _queue
    _queue = None  # a forked child has the queue but not the thread: it starts its own


os.register_at_fork(after_in_child=_forget_in_child)
