"""Bundled two-policy sample evidence: a baseline and a candidate run on the same plan, in the
harnesses' own file formats (sample.evidence writes both), for comparing policies.

The candidate's success rates are higher by CANDIDATE_SHIFT, and its generic JSONL evidence has two
flaws the baseline's has not, each an asymmetry a reviewer should ask about: one planned cell was
never run (`missing`), and one failed episode was re-run until it succeeded (`re_run`). Audit inputs
imported against a draft plan are left out of both arms.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from worldflux_nb.io.files import make_private_folder, write_outputs
from worldflux_nb.models.plan import ProtocolPlan
from worldflux_nb.sample.evidence import SampleFile, sample_files

BASELINE, CANDIDATE = "baseline", "candidate"
CANDIDATE_SHIFT = 0.12


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)


def _skip_a_cell(sample: SampleFile) -> SampleFile:
    rows = [json.loads(line) for line in sample.content.splitlines() if line.strip()]
    places = list(dict.fromkeys((r["task_id"], r["axis"], str(r["level"])) for r in rows))
    place = places[-1]  # the last cell: the sample's own planted flaws sit in the first
    kept = [r for r in rows if (r["task_id"], r["axis"], str(r["level"])) != place]
    return dataclasses.replace(sample, content=_jsonl(kept),
                               planted=sample.planted + (f"cell {'/'.join(place)} never run (candidate only)",))


def _key(row: dict) -> tuple:
    return (row["task_id"], row["axis"], str(row["level"]), row["episode_index"])


def _counts(rows: list[dict]) -> dict[tuple, int]:
    counts: dict[tuple, int] = {}
    for row in rows:
        counts[_key(row)] = counts.get(_key(row), 0) + 1
    return counts


def _reroll_a_failure(sample: SampleFile) -> SampleFile:
    rows = [json.loads(line) for line in sample.content.splitlines() if line.strip()]
    once = {k for k, n in _counts(rows).items() if n == 1}  # an episode the sample did not re-run already
    failed = next((r for r in rows[6:] if r.get("status") == "completed" and r.get("success") is False
                   and _key(r) in once), None)
    if failed is None:
        return sample
    return dataclasses.replace(sample, content=_jsonl(rows + [dict(failed, success=True)]),
                               planted=sample.planted + ("a failure re-run until it succeeded (candidate only)",))


def comparison_sample_files(plan: ProtocolPlan) -> dict[str, list[SampleFile]]:
    """{arm name: its harness files} (pure: nothing is written)."""
    baseline = [f for f in sample_files(plan) if f.format != "audit_input"]
    candidate = [f for f in sample_files(plan, policy=CANDIDATE, rate_shift=CANDIDATE_SHIFT)
                 if f.format != "audit_input"]
    jsonl = [i for i, f in enumerate(candidate) if f.format == "jsonl"]
    if jsonl:
        candidate[jsonl[0]] = _skip_a_cell(candidate[jsonl[0]])
        candidate[jsonl[-1]] = _reroll_a_failure(candidate[jsonl[-1]])
    return {BASELINE: baseline, CANDIDATE: candidate}


def write_comparison_sample(plan: ProtocolPlan, directory: str | Path) -> dict[str, list[SampleFile]]:
    """Write each arm's files into `directory/<arm>/` (all or nothing) and return them by arm."""
    arms = comparison_sample_files(plan)
    outputs = {path: text for name, files in arms.items() for f in files
               for path, text in f.outputs(Path(directory) / name).items()}
    for folder in sorted({path.parent for path in outputs}, key=str):
        make_private_folder(folder)  # each arm's folder, and a harness's results folder inside it
    write_outputs(outputs)
    return arms
