"""The fast paths taken at a million rows agree with the plain semantics they replace (at ~20k rows).

Nothing here is timed: each test checks a vectorised or pydantic-core path against the standard
library or a per-row reference implementation written out below.
"""

from __future__ import annotations

import json
import random

import pytest

from test_conformance import audit, make_plan
from conftest import cell_episodes
from worldflux_nb.core.conformance import check_conformance, normalise_value, pinned_by_key
from worldflux_nb.errors import InputError
from worldflux_nb.io.artifacts import artifact_json, load
from worldflux_nb.io.files import json_text, parse_json, parse_json_bytes
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.plan import ProtocolPlan

EPISODES_PER_CELL = 4000  # 5 cells: 20,000 planned episodes


def defective_rows(plan: ProtocolPlan, rng: random.Random) -> dict[str, list[dict]]:
    """Evidence per probe with every defect at random: missing, out of protocol, re-runs, wrong or
    absent seeds and metadata, every status, and metadata values of every scalar type."""
    out: dict[str, list[dict]] = {}
    for probe in plan.selected_probes:
        pins = dict(probe.pinned_metadata)
        rows: list[dict] = []
        for cell in (c for c in plan.cells if c.probe_id == probe.probe_id):
            for index, seed in cell_episodes(cell):
                for _ in range(rng.choice([0, 1, 1, 1, 1, 1, 1, 2, 3])):
                    status = rng.choice(["completed"] * 6 + ["timeout", "infra_failure", "pending"])
                    success = (rng.random() < 0.6 if status == "completed"
                               else False if status == "timeout" else None)
                    metadata = dict(pins)
                    roll = rng.random()
                    if roll < 0.03:
                        metadata[rng.choice(list(pins) or ["x"])] = rng.choice(
                            ["drifted", 20, 20.0, "20", True, 1, None, 0.5, " libero-local "])
                    elif roll < 0.05 and pins:
                        del metadata[rng.choice(list(pins))]
                    row = {"probe_id": probe.probe_id, "task_id": cell.task_id, "axis": cell.axis,
                           "level": cell.level, "episode_index": index,
                           "seed": (seed if rng.random() > 0.02 else rng.choice([None, 7])),
                           "success": success, "status": status}
                    if rng.random() > 0.01:
                        row["metadata"] = metadata
                    rows.append(row)
        for _ in range(len(rows) // 100):  # out of protocol: unplanned indexes, tasks, levels
            row = dict(rng.choice(rows))
            field, value = rng.choice([("episode_index", 10**6 + rng.randrange(100)),
                                       ("task_id", "suite/9"), ("level", 7), ("level", "0")])
            rows.append(dict(row, **{field: value}))
        rng.shuffle(rows)
        out[probe.probe_id] = rows
    return out


def reference_conformance(plan: ProtocolPlan, inputs: list[AuditInput]) -> tuple[list[str], dict]:
    """DESIGN.md's conformance rules, one row at a time: each row's category, each episode's outcome."""
    planned = {}
    for cell in plan.cells:
        for index, seed in cell_episodes(cell):
            planned[(cell.probe_id, cell.task_id, cell.axis, str(cell.level), index)] = seed
    pins = pinned_by_key(plan)
    categories: list[str] = []
    attempts: dict[tuple, list[bool]] = {}
    for ai in inputs:
        if ai.plan_digest != plan.plan_digest:
            continue
        for row in ai.episodes:
            key = (row["probe_id"], row["task_id"], row["axis"], str(row["level"]), row["episode_index"])
            metadata = row.get("metadata") or {}
            if key not in planned:
                categories.append("out_of_protocol")
            elif planned[key] is not None and row["seed"] is not None and row["seed"] != planned[key]:
                categories.append("seed_mismatch")
            elif any(probe_pins.get(row["probe_id"]) is not None and name in metadata
                     and normalise_value(metadata[name]) != probe_pins[row["probe_id"]]
                     for name, probe_pins in pins.items()):
                categories.append("metadata_mismatch")
            else:
                categories.append("duplicate" if key in attempts else "matched")
                attempts.setdefault(key, []).append(row["status"] == "completed" and row["success"] is True)
    outcomes = {key: (key in attempts, key in attempts and all(attempts[key])) for key in planned}
    return categories, outcomes


def test_conformance_agrees_with_the_per_row_rules_at_20k_rows():
    plan = make_plan(EPISODES_PER_CELL)
    rows = defective_rows(plan, random.Random(11))
    inputs = [audit(plan, probe, probe_rows) for probe, probe_rows in rows.items()]
    inputs.append(audit(plan, "beta", rows["beta"][:50], digest="sha256:" + "9" * 64))
    result = check_conformance(plan, inputs)
    categories, outcomes = reference_conformance(plan, inputs)

    assert list(result.rows["category"].astype(str)) == categories
    assert len(categories) > 20_000 and len(set(categories)) == 5
    episodes = result.episodes
    keys = zip(episodes["probe_id"], episodes["task_id"], episodes["axis"],
               episodes["level"].map(str), episodes["episode_index"])
    assert [outcomes[key] for key in keys] == list(zip(episodes["matched"], episodes["success"]))
    assert result.conformance.matched + result.conformance.missing == plan.planned_episodes
    assert result.conformance.digest_mismatches[0].rows_rejected == 50


def test_metadata_true_and_one_stay_different_values():
    """A hash table holds True and 1 as one key; normalisation must still tell them apart."""
    plan = make_plan(4)
    base = {"probe_id": "beta", "task_id": "suite/0", "axis": "light", "level": "dim", "seed": None,
            "success": True, "status": "completed"}
    values = [True, 1, 1.0, "1", "true", None]
    rows = [dict(base, episode_index=i % 4, metadata={"camera_config_id": v})
            for i, v in enumerate(values)]
    result = check_conformance(plan, [audit(plan, "beta", rows)])
    assert list(result.rows["meta:camera_config_id"]) == [normalise_value(v) for v in values]


def random_rows(rng: random.Random, count: int) -> list[dict]:
    """Rows with text that JSON writers treat differently: non-ASCII, control characters, quotes."""
    texts = ["plain", "é ü 漢字 😀", "quote \" backslash \\ slash /", "tab\tnew\nline\x00\x1f\x7f",
             "\u2028\u2029", "   padded  "]
    rows = []
    for i in range(count):
        row = {"probe_id": "beta", "task_id": rng.choice(texts) or "t", "axis": "light",
               "level": rng.choice([0, 3, "dim", "hard level"]), "episode_index": i,
               "seed": rng.choice([None, 0, -5, 2**63 - 1, -(2**63)]),
               "success": rng.choice([True, False]), "status": "completed"}
        if rng.random() < 0.7:
            metadata = {rng.choice(texts): rng.choice([*texts, 0, 2**62, True, None])
                        for _ in range(rng.randrange(4))}
            row["metadata"] = dict(sorted(metadata.items()))
        rows.append(row)
    return rows


def sealed_input(rows: list[dict]) -> AuditInput:
    plan = make_plan(4)
    return audit(plan, "beta", rows)


def reference_stream(rows: list[dict], form: int = 2) -> bytes:
    """docs/evidence-table.md's canonical byte stream, written out row by row from the JSON rows
    (form 2: a text column's distinct values, then a code per row; form 1: every row's text)."""
    import struct

    from worldflux_nb.models.digest import canonical_json
    from worldflux_nb.models.evidence_table import COLUMNS

    out = bytearray()
    for name, kind, _ in COLUMNS:
        out += name.encode() + b"\0"
        values = [row.get(name) for row in rows]
        if name == "level":
            values = [str(value) for value in values]
        elif name == "metadata":
            values = [None if value is None else canonical_json(value).decode() for value in values]
        if kind == "string" and form == 2:
            distinct = list(dict.fromkeys(value for value in values if value is not None))
            out += struct.pack("<i", len(distinct))
            for value in distinct:
                out += struct.pack("<i", len(value.encode())) + value.encode()
            code = {value: i for i, value in enumerate(distinct)}
            out += b"".join(struct.pack("<i", -1 if value is None else code[value]) for value in values)
            continue
        for value in values:
            if kind == "int64":
                out += struct.pack("<Bq", value is not None, value or 0)
            elif kind == "bool":
                out += bytes([0 if value is None else 1 + value])
            elif value is None:
                out += struct.pack("<i", -1)
            else:
                data = value.encode()
                out += struct.pack("<i", len(data)) + data
    return bytes(out)


@pytest.mark.parametrize("floats", [False, True])
def test_audit_digest_is_the_documented_canonical_form(floats):
    import hashlib

    from worldflux_nb.models.digest import canonical_json

    rows = random_rows(random.Random(5), 3000)
    if floats:
        rows[17].setdefault("metadata", {})["rate"] = 1e-07
        rows[18].setdefault("metadata", {})["rate"] = 0.00005
    rows[19]["failure_reason"] = "slipped é"
    ai = sealed_input(rows)
    assert ai.episodes.content_digest() == hashlib.sha256(reference_stream(rows)).hexdigest()
    head = {k: v for k, v in ai.to_json_dict().items() if k not in ("episodes", "audit_digest")}
    head["episodes_digest"] = hashlib.sha256(reference_stream(rows)).hexdigest()
    assert ai.audit_digest == "sha256:" + hashlib.sha256(canonical_json(head)).hexdigest()
    assert json.loads(artifact_json(ai)) == json.loads(json_text(ai.to_json_dict()))


def test_rows_read_back_as_written():
    rows = random_rows(random.Random(6), 500)
    ai = sealed_input(rows)
    assert ai.episodes.to_pylist() == rows
    assert [dict(row) for row in ai.episodes] == rows


def test_loading_verifies_the_same_digest(tmp_path):
    ai = sealed_input(random_rows(random.Random(7), 2000))
    path = tmp_path / "audit.json"
    path.write_text(artifact_json(ai), encoding="utf-8")
    assert load(path) == ai
    tampered = json.loads(path.read_text(encoding="utf-8"))
    tampered["episodes"][1234]["success"] = not tampered["episodes"][1234]["success"]
    path.write_text(json.dumps(tampered, indent=2), encoding="utf-8")
    with pytest.raises(InputError, match="audit_digest"):
        load(path)


@pytest.mark.parametrize("text", [
    '{"a": 1, "a": 2}', "123456789012345678901234567890", '"\\ud800"', '"a\x01b"', "-0", "1e400",
    "[1.5E3, 1e-7, 0.1]", "\ufeff{}", "  {} ", "{} x", "NaN", "[Infinity]", '"\\u00e9\\ud83d\\ude00"',
    "01", "[1,]", '{"a":1,}', "", "   ", "tru", '"\\x"', '{"k": [' * 300 + "]}" * 300,
    '{"b": {"y": null, "x": [true, false]}, "a": "\u2028"}',
])
def test_json_bytes_parse_exactly_as_the_standard_library(text):
    data = text.encode("utf-8")

    def outcome(parse):
        try:
            return "ok", repr(parse())
        except InputError as exc:
            return "error", str(exc)

    slow = outcome(lambda: parse_json(data.decode("utf-8-sig"), "f.json"))
    assert outcome(lambda: parse_json_bytes(data, "f.json")) == slow


def test_json_bytes_keep_every_float_bit_for_bit():
    rng = random.Random(9)
    values = [rng.uniform(-1, 1) * 10.0 ** rng.randint(-300, 300) for _ in range(20_000)]
    data = json.dumps(values).encode()
    assert parse_json_bytes(data, "f.json") == json.loads(data)


def test_jsonl_import_keeps_each_rows_own_metadata_values():
    """Metadata objects seen clean are reused: True, 1 and 1.0 must still come out as written."""
    from worldflux_nb.core.importers import FORMATS

    plan = make_plan(4)
    values = [True, 1, 1.0, "1", None, True, 1]
    lines = [json.dumps({"task_id": "suite/0", "axis": "light", "level": "dim", "episode_index": i % 4,
                         "success": True, "metadata": {"z": "ok", "camera_config_id": v}})
             for i, v in enumerate(values)]
    lines.insert(3, json.dumps({"task_id": "suite/0", "axis": "light", "level": "dim", "episode_index": 0,
                                "success": True, "metadata": {"note": "token=hf_" + "a" * 34}}))
    ai = FORMATS["jsonl"]("\n".join(lines), source_name="e.jsonl", plan=plan, probe_id="beta")
    kept = [row["metadata"]["camera_config_id"] for row in ai.episodes if "z" in row["metadata"]]
    assert [(type(v), v) for v in kept] == [(type(v), v) for v in values]
    assert [list(row["metadata"]) for row in ai.episodes][:2] == [["camera_config_id", "z"]] * 2
    assert [r.location for r in ai.redactions] == ["line 4.metadata.note"]
