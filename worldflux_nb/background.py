"""Work handed to one background thread while the caller's thread goes on (the packet command's
reading of its audit inputs and its random draws).

The machine's second core is worth having only for work that releases the GIL: Parquet reads,
SHA-256 over large buffers, numpy's random draws and array kernels. Whatever runs here must give
exactly what running it in place gives (its own inputs, its own random generator, nothing shared
that it writes to, no pydantic model built for the first time, no import of its own), and must not
wait for another call handed here. The thread runs them in the order handed over; a thread asking
for a result the background thread has not reached runs that call itself, and while the one it asks
for is still running it runs the calls not yet started, latest first (work it would otherwise only
wait for), so two calls may run at once. Each call runs in its own copy of the caller's context
(contextvars: the files a command reads are recorded there, so that no output replaces them).
A Future's `result()` returns the value or raises the exception where the caller asks for it.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import threading
from collections import deque
from concurrent.futures import Future
from functools import partial
from typing import Any, Callable, Iterator, Sequence, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_handed = threading.Condition(_lock)
_waiting: deque[_Handed[Any]] = deque()  # not yet taken: the thread takes the first, a waiting caller the last
_worker: threading.Thread | None = None


class _Handed(Future[T]):
    """A call handed over, run once by whichever thread claims it first."""

    def __init__(self, call: Callable[[], T]) -> None:
        super().__init__()
        self._call: Callable[[], T] | None = call
        self._claim = threading.Lock()

    def run_unless_claimed(self) -> None:
        if not self._claim.acquire(blocking=False):
            return  # another thread has it
        call, self._call = self._call, None  # its inputs are let go of once it has run
        if call is None or not self.set_running_or_notify_cancel():
            return
        try:
            self.set_result(call())
        except BaseException as exc:  # handed to whoever asks for the result
            self.set_exception(exc)

    def result(self, timeout: float | None = None) -> T:
        self.run_unless_claimed()  # not started yet: run here rather than wait for the calls before it
        while not self.done():  # running on the background thread: meanwhile, run what it has not reached
            with _lock:
                later = _waiting.pop() if _waiting else None
            if later is None:
                break
            later.run_unless_claimed()
        return super().result(timeout)


# How often a thread holding the GIL is asked to hand it over (Python's default is 5 ms). The digest's
# hashing thread and the draws give the GIL back for each piece of work and need it again right after;
# while this thread runs Python, each such return waited up to 5 ms. At ten million rows (~1,500
# pieces of the audit inputs' digests) the packet took 0.3-0.9 s less with 1 ms.
SWITCH_INTERVAL_S = 0.001


@contextlib.contextmanager
def prompt_handover() -> Iterator[None]:
    """While inside, the GIL changes hands every SWITCH_INTERVAL_S at most (then as it was)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, SWITCH_INTERVAL_S))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def started(work: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """`work(*args, **kwargs)` handed to the background thread."""
    return started_in_turn([lambda: work(*args, **kwargs)])[0]


def started_in_turn(calls: Sequence[Callable[[], T]]) -> list[Future[T]]:
    """Each call handed to the background thread, to run after those handed before; a Future each."""
    global _worker
    context = contextvars.copy_context()
    # A copy each: two calls may run at once, and one context cannot be entered twice.
    futures: list[Future[T]] = [_Handed(partial(context.copy().run, call)) for call in calls]
    with _handed:
        if _worker is None:
            # A daemon: an interrupted command does not wait for what is still queued.
            _worker = threading.Thread(target=_work, name="wfnb-background", daemon=True)
            _worker.start()
        _waiting.extend(futures)  # type: ignore[arg-type]
        _handed.notify()
    return futures


def _work() -> None:
    while True:
        with _handed:
            while not _waiting:
                _handed.wait()
            first = _waiting.popleft()
        first.run_unless_claimed()


def _forget_in_child() -> None:
    global _lock, _handed, _waiting, _worker
    # A forked child has the calls and maybe a held lock, but not the thread: it starts afresh.
    _lock = threading.Lock()
    _handed = threading.Condition(_lock)
    _waiting = deque()
    _worker = None


os.register_at_fork(after_in_child=_forget_in_child)
