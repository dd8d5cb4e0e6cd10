"""Tamper evidence: change any single value in plan.json, an audit input or packet.json and loading it
refuses the file (the digest no longer matches, or the value is no longer valid)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Iterator

import pytest

from hardening_support import Flow, cli

from worldflux_nb import load
from worldflux_nb.errors import InputError
from worldflux_nb.io.artifacts import artifact_from_json

MAX_LEAVES = 300  # per artifact; sampled with a fixed seed beyond that

Path_ = tuple[Any, ...]


def leaves(value: Any, path: Path_ = ()) -> Iterator[Path_]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from leaves(sub, path + (key,))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from leaves(sub, path + (i,))
    else:
        yield path


def changed(value: Any) -> Any:
    """A different value of the same JSON type where there is one (never a whitespace-only change)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 0.5 if value < 0.5 else value - 0.25
    if isinstance(value, str):
        return value + "x" if value else "x"
    return 0  # null


def with_change(data: Any, path: Path_) -> Any:
    copy = json.loads(json.dumps(data))
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = changed(target[path[-1]])
    return copy


def sampled(paths: list[Path_]) -> list[Path_]:
    if len(paths) <= MAX_LEAVES:
        return paths
    # Keep every top-level and second-level leaf; sample the long lists (cells, episodes) deeper down.
    shallow = [p for p in paths if len(p) <= 2]
    deep = [p for p in paths if len(p) > 2]
    return shallow + random.Random(20260101).sample(deep, max(0, MAX_LEAVES - len(shallow)))


def artifacts(flow: Flow) -> dict[str, Path]:
    return {"plan": flow.plan, "audit_input": flow.audit(flow.probes[0]), "packet": flow.packet,
            "profile": flow.profile, "brief": flow.brief}


@pytest.mark.parametrize("kind", ["plan", "audit_input", "packet", "profile", "brief"])
def test_every_single_change_is_detected(kind: str, reference_flow: Flow) -> None:
    path = artifacts(reference_flow)[kind]
    data = json.loads(path.read_text(encoding="utf-8"))
    artifact_from_json(data, str(path))  # the untouched file loads
    paths = sampled(list(leaves(data)))
    assert len(paths) > 20
    undetected = []
    for leaf in paths:
        try:
            artifact_from_json(with_change(data, leaf), str(path))
        except InputError:
            continue
        undetected.append(".".join(map(str, leaf)))
    assert not undetected, f"{len(undetected)} changes to {path.name} went unnoticed: {undetected[:10]}"


def test_a_changed_plan_is_refused_by_the_command_line(reference_flow: Flow, tmp_path: Path) -> None:
    data = json.loads(reference_flow.plan.read_text(encoding="utf-8"))
    data["cells"][0]["seeds"]["run_seed"] += 1
    data["cells"][0]["episodes"]["start"] += 1000
    tampered = tmp_path / "plan.json"
    tampered.write_text(json.dumps(data, indent=2), encoding="utf-8")
    with pytest.raises(InputError, match="plan_digest"):
        load(tampered)
    result = cli(["eval-portfolio", "render-run-sheet", "--plan", tampered, "--output",
                  tmp_path / "rs.md", "--run-sheet-json", tmp_path / "rs.json"])
    assert result.code == 2 and "plan_digest" in result.stderr
    assert not (tmp_path / "rs.md").exists() and not (tmp_path / "rs.json").exists()


def test_evidence_claiming_another_plan_is_rejected_as_a_whole(reference_flow: Flow, tmp_path: Path) -> None:
    """An audit input sealed against a different plan is listed under digest_mismatches, not counted."""
    from worldflux_nb.models.evidence import AuditInput

    probe = reference_flow.probes[0]
    data = json.loads(reference_flow.audit(probe).read_text(encoding="utf-8"))
    data["plan_digest"] = "sha256:" + "1" * 64
    data["audit_digest"] = AuditInput.model_validate(data).computed_digest()
    other = tmp_path / "audit.json"
    other.write_text(json.dumps(data), encoding="utf-8")
    args = ["--audit-input", f"{probe}={other}"]
    for p in reference_flow.probes[1:]:
        args += ["--audit-input", f"{p}={reference_flow.audit(p)}"]
    result = cli(["eval-portfolio", "packet", "--plan", reference_flow.plan, *args,
                  "--output", tmp_path / "packet.md", "--packet-json", tmp_path / "packet.json"])
    assert result.code == 0, result.stderr
    packet = json.loads((tmp_path / "packet.json").read_text(encoding="utf-8"))
    mismatches = packet["conformance"]["digest_mismatches"]
    assert [m["probe_id"] for m in mismatches] == [probe]
    assert mismatches[0]["found"] == "sha256:" + "1" * 64
    assert packet["conformance"]["matched"] + packet["conformance"]["missing"] == packet["conformance"]["planned_episodes"]
