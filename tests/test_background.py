"""The background thread (worldflux_nb/background.py) and the packet's draws handed to it: the same
packet as with every draw made in place, exceptions where the result is asked for, each call run once,
on the asking thread when the background thread has not reached it."""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import Future, wait

import pytest

from detect_support import EPISODES, HARD, audit_input, cells_of, honest_rows, honest_success, make_plan, row
from worldflux_nb.background import started, started_in_turn
from worldflux_nb.core.packet import build_packet
from worldflux_nb.io.artifacts import artifact_json


def test_calls_run_once_each_and_give_their_values_or_their_exceptions():
    ran: list[int] = []
    futures = started_in_turn([lambda i=i: ran.append(i) or i * i for i in range(5)] + [lambda: 1 // 0])
    assert [f.result(timeout=30) for f in futures[:5]] == [0, 1, 4, 9, 16]
    with pytest.raises(ZeroDivisionError):
        futures[5].result(timeout=30)
    assert sorted(ran) == [0, 1, 2, 3, 4]
    assert started(pow, 2, 10).result(timeout=30) == 1024


def test_a_call_not_started_when_its_result_is_asked_for_runs_on_the_asking_thread():
    """The thread runs calls in turn; a caller asking for a result the thread has not reached runs
    that call itself (the thread skips it) instead of waiting behind the others."""
    release = threading.Event()
    ran_on: list[str] = []
    first, second, third = started_in_turn([
        lambda: release.wait(30),
        lambda: ran_on.append(threading.current_thread().name) or "second",
        lambda: ran_on.append(threading.current_thread().name) or "third"])
    assert third.result(timeout=30) == "third"  # the thread is still held by the first call
    assert ran_on == [threading.current_thread().name]
    release.set()
    wait([first, second], timeout=30)  # (waits without asking for a result: the thread runs the second)
    assert first.result() is True and second.result() == "second"
    assert ran_on == [threading.current_thread().name, "wfnb-background"]  # the third was not run twice
    workers = [t for t in threading.enumerate() if t.name == "wfnb-background"]
    assert len(workers) == 1 and workers[0].daemon  # one thread, which an interrupted command does not wait for


def test_calls_run_in_the_callers_context():
    """The files a command reads are recorded in a context variable (io/files.py): a read handed to the
    background thread must be recorded where the command checks its outputs."""
    seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")
    token = seen.set("the caller's")
    try:
        assert started(seen.get).result(timeout=30) == "the caller's"
    finally:
        seen.reset(token)
    assert started(seen.get).result(timeout=30) == "unset"


def test_a_caller_waiting_for_a_running_call_runs_the_calls_not_yet_started():
    """While the background thread runs the call whose result is asked for, the asking thread runs
    the calls the background thread has not reached (here the one that lets the running call end)."""
    began, release = threading.Event(), threading.Event()
    ran_on: list[str] = []
    running, freeing = started_in_turn([
        lambda: began.set() or release.wait(30),
        lambda: ran_on.append(threading.current_thread().name) or release.set()])
    assert began.wait(30)
    assert running.result(timeout=30) is True
    assert ran_on == [threading.current_thread().name] and freeing.result() is None


def _in_place(calls):
    """started_in_turn as if there were no background thread: each call made now, on this thread."""
    futures = []
    for call in calls:
        futures.append(Future())
        try:
            futures[-1].set_result(call())
        except Exception as exc:
            futures[-1].set_exception(exc)
    return futures


def test_a_packet_is_the_same_with_every_draw_made_in_place(monkeypatch):
    """Failures dropped in the hard cells: a permutation p-value and bootstrap intervals are reported."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    plan = make_plan()
    lib = cells_of("libero")
    rows = [row(c, i) for c in lib for i in range(EPISODES) if c not in HARD or honest_success(c, i) or i % 3 == 0]
    inputs = [audit_input(plan, "libero", rows), audit_input(plan, "libero-plus", honest_rows("libero-plus"))]
    drawn = artifact_json(build_packet(plan, inputs))
    assert "permutation (multivariate hypergeometric)" in drawn and '"bootstrap_ci_low": 0.' in drawn
    for module in ("worldflux_nb.core.packet", "worldflux_nb.core.detect_outcome"):
        monkeypatch.setattr(f"{module}.started_in_turn", _in_place)
    assert artifact_json(build_packet(plan, inputs)) == drawn


def test_prompt_handover_shortens_the_switch_interval_only_inside():
    import sys

    from worldflux_nb.background import SWITCH_INTERVAL_S, prompt_handover

    before = sys.getswitchinterval()
    with prompt_handover():
        assert sys.getswitchinterval() <= min(before, SWITCH_INTERVAL_S) + 1e-9
    assert sys.getswitchinterval() == before
    with pytest.raises(RuntimeError), prompt_handover():
        raise RuntimeError("restored on the way out too")
    assert sys.getswitchinterval() == before
