"""The re-import comparison finds the rows that differ a column at a time: the same rows the row-by-row
reading finds (each row's JSON form, keys sorted), on tables that differ in every way a table can."""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pytest

from worldflux_nb.core.detect_sources import compare_audit_inputs, differing_rows
from worldflux_nb.models.evidence_table import EvidenceTable

OPTIONAL = ("failure_reason", "run_id", "recorded_at", "harness_task")


def _row(g: random.Random, i: int) -> dict:
    row = {"probe_id": g.choice(["libero", "libero", "libero", "other"]), "task_id": f"t{g.randrange(3)}", "axis": g.choice(["nominal", "light"]),
           "level": g.choice([0, 1, "dim", "03"]), "episode_index": i, "seed": g.choice([None, 7, 8]),
           "success": g.choice([None, True, False]), "status": g.choice(["completed", "timeout"])}
    if g.random() < 0.6:
        row["metadata"] = {"env": g.choice(["a", "b"]), "n": g.choice([1, 1.5, True, None])}
    for name in OPTIONAL:
        if g.random() < 0.3:
            row[name] = g.choice(["x", "y"])
    return row


def _changed(g: random.Random, row: dict) -> dict:
    """The row with one field changed: another value, a null, or a key left out or added."""
    row = dict(row)
    name = g.choice(["task_id", "axis", "level", "seed", "success", "status", "metadata", *OPTIONAL])
    if name == "level":
        row["level"] = g.choice([0, 1, "dim", "03", "1", "0"])  # "1" and 1 are one level, as the text "1"
    elif name == "metadata":
        row["metadata"] = g.choice([None, {"env": "a", "n": 1}, {"n": 1, "env": "a"}, {"env": "a", "n": 1.0}])
    elif name in OPTIONAL:
        row[name] = g.choice([None, "x", "y"])
    elif name in ("seed", "success"):
        row[name] = g.choice([None, 7, 8] if name == "seed" else [None, True, False])
    else:
        row[name] = g.choice({"task_id": ["t0", "t1"], "axis": ["nominal", "light"],
                              "status": ["completed", "timeout", "pending"]}[name])
    return {k: v for k, v in row.items() if v is not None or k in ("seed", "success")}


def _by_rows(old: EvidenceTable, new: EvidenceTable) -> list[int]:
    """The row-by-row reading the columns replace: each row's JSON form with sorted keys."""
    text = lambda row: json.dumps(row, sort_keys=True, separators=(",", ":"), default=str)  # noqa: E731
    return [i for i, (a, b) in enumerate(zip(old.to_pylist(), new.to_pylist())) if text(a) != text(b)]


def _dictionary_encoded(table: EvidenceTable) -> EvidenceTable:
    """The same rows with every text column dictionary-encoded, as a Parquet audit input loads them."""
    arrow = table.arrow
    columns = [column.dictionary_encode() if pa.types.is_string(column.type) else column
               for column in arrow.columns]
    return EvidenceTable.build(pa.table(columns, names=arrow.column_names))


@pytest.mark.parametrize("seed", range(40))
def test_the_columns_find_the_rows_the_row_reading_finds(seed: int):
    g = random.Random(seed)
    rows = [_row(g, i) for i in range(g.randrange(1, 60))]
    edited = [_changed(g, r) if g.random() < 0.3 else dict(r) for r in rows]
    edited = edited[:len(edited) - g.randrange(3)] + [_row(g, 1000 + i) for i in range(g.randrange(3))]
    if not edited:
        edited = [_row(g, 0)]
    old, new = EvidenceTable.build(rows), EvidenceTable.build(edited)
    if seed % 2:
        new = _dictionary_encoded(new)
    assert differing_rows(old, new) == _by_rows(old, new)
    assert differing_rows(old, old) == []


def test_a_difference_is_named_by_row_and_field():
    from worldflux_nb.models.evidence import AuditInput  # noqa: F401  (the model the comparison reads)

    g = random.Random(3)
    rows = [_row(g, i) for i in range(8)]
    changed = [dict(r) for r in rows]
    changed[5]["status"] = "infra_failure" if rows[5]["status"] != "infra_failure" else "completed"

    class Audit:  # the fields compare_audit_inputs reads, around each table
        def __init__(self, episodes: EvidenceTable) -> None:
            self.plan_digest, self.probe_id, self.episodes = "sha256:p", "libero", episodes
            self.source = type("Source", (), {"importer": "generic", "identity": "explicit", "files": []})()

    out = compare_audit_inputs(Audit(EvidenceTable.build(changed)), Audit(EvidenceTable.build(rows)))
    assert out == [f"1 row differ from the harness file: row 6 status {changed[5]['status']!r} "
                   f"(file: {rows[5]['status']!r})"]


@pytest.mark.parametrize("seed", range(12))
def test_an_audit_inputs_counts_are_its_rows_counted_one_by_one(seed: int):
    """The counts an audit input's display shows (render.evidence_doc), a column at a time, are the
    rows' own, per (task, axis, level) in order of first appearance."""
    from collections import Counter
    from types import SimpleNamespace

    from worldflux_nb.render.evidence_doc import episode_counts, status_totals

    g = random.Random(seed)
    table = EvidenceTable.build([_row(g, i) for i in range(g.randrange(0, 80))])
    audit = SimpleNamespace(episodes=_dictionary_encoded(table) if seed % 2 and len(table) else table)
    expected: dict[tuple[str, str, str], Counter] = {}
    for row in table.to_pylist():
        counts = expected.setdefault((row["task_id"], row["axis"], str(row["level"])), Counter())
        counts[row["status"]] += 1
        counts["successes"] += row["success"] is True
        counts["episodes"] += 1
    assert episode_counts(audit) == list(expected.items())  # type: ignore[arg-type]
    assert status_totals(audit) == sum(expected.values(), Counter())  # type: ignore[arg-type]
