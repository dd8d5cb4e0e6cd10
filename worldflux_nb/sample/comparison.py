"""Bundled two-policy sample evidence: a baseline and a candidate run on the same plan, in the
harnesses' own file formats (sample.evidence writes both), for comparing policies.

The candidate's success rates are higher by CANDIDATE_SHIFT and it skipped one LIBERO-plus
perturbation run that the baseline ran (a `missing` asymmetry a reviewer should ask about).
Audit inputs imported against a draft plan are left out of both arms.
"""

from __future__ import annotations

from pathlib import Path

from worldflux_nb.io.files import make_private_folder, write_outputs
from worldflux_nb.models.plan import ProtocolPlan
from worldflux_nb.sample.evidence import SampleFile, sample_files

BASELINE, CANDIDATE = "baseline", "candidate"
CANDIDATE_SHIFT = 0.12


def comparison_sample_files(plan: ProtocolPlan) -> dict[str, list[SampleFile]]:
    """{arm name: its harness files} (pure: nothing is written)."""
    baseline = [f for f in sample_files(plan) if f.format != "audit_input"]
    candidate = [f for f in sample_files(plan, policy=CANDIDATE, rate_shift=CANDIDATE_SHIFT)
                 if f.format != "audit_input"]
    skipped = [f for f in candidate if f.format == "vla-eval"][-1:]
    return {BASELINE: baseline, CANDIDATE: [f for f in candidate if f not in skipped]}


def write_comparison_sample(plan: ProtocolPlan, directory: str | Path) -> dict[str, list[SampleFile]]:
    """Write each arm's files into `directory/<arm>/` (all or nothing) and return them by arm."""
    arms = comparison_sample_files(plan)
    for name in arms:
        make_private_folder(Path(directory) / name)
    write_outputs([(Path(directory) / name / f.name, f.content) for name, files in arms.items() for f in files])
    return arms
