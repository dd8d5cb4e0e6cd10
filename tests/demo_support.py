"""The demo's own flow in-process: reference profile and contract, seed 1234, bundled sample evidence."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any, NamedTuple


class Demo(NamedTuple):
    plan: Any
    audits: list[Any]
    checked: Any
    packet: Any


@functools.cache
def demo() -> Demo:
    """The plan, audit inputs, conformance result and packet the template builds on its defaults."""
    from worldflux_nb.core.conformance import check_conformance
    from worldflux_nb.core.packet import build_packet
    from worldflux_nb.core.planning import build_plan
    from worldflux_nb.io.evidence_entries import import_entries, sample_entries
    from worldflux_nb.sample import reference_contract, reference_profile
    from worldflux_nb.sample.evidence import write_sample_evidence

    plan = build_plan(reference_profile(), seed=1234, seed_source="operator_supplied",
                      contracts=[reference_contract()])
    folder = Path(tempfile.mkdtemp(prefix="wfnb-demo-"))
    audits = import_entries(sample_entries(write_sample_evidence(plan, folder), folder), plan)
    checked = check_conformance(plan, audits)
    return Demo(plan, audits, checked, build_packet(plan, audits, conformance=checked))
