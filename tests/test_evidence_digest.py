"""The evidence content digest (models/evidence_digest.py) is the documented canonical stream for every
shape of column its fast paths take: all null, fixed width, empty strings, nulls among values, chunked
columns, and streams cut into several batches."""

from __future__ import annotations

import hashlib
import random

import pyarrow as pa
import pytest

from test_scale import reference_stream
from worldflux_nb.models import evidence_digest
from worldflux_nb.models.evidence_table import COLUMNS, EvidenceTable


def rows_of(rng: random.Random, count: int, shape: str) -> list[dict]:
    rows = []
    for i in range(count):
        status = rng.choice(["completed", "timeout", "infra_failure", "pending"])
        row = {"probe_id": "p", "task_id": {"fixed": "tsk", "empty_task": "ab", "mixed": rng.choice(["a", "bb", "é"])}[shape],
               "axis": "nominal" if shape != "mixed" else rng.choice(["x", "yy"]), "level": rng.choice([1, 2, 3]),
               "episode_index": i, "seed": None if shape == "fixed" else rng.choice([None, 3, -(2**63)]),
               "success": None if status in ("infra_failure", "pending") else (status == "completed" and rng.random() < 0.5),
               "status": status}
        if shape == "mixed" and rng.random() < 0.5:
            row["metadata"] = {"k": rng.choice(["v", "vv", 1])}
        if shape == "mixed" and rng.random() < 0.3:
            row["failure_reason"] = rng.choice(["", "x", "timeout 😀"])
        if shape == "empty_task":
            row["run_id"] = "r1"  # every value the same width, the rest of the column null-free
            row["failure_reason"] = ""  # every value empty: width zero
        rows.append(row)
    return rows


@pytest.mark.parametrize("shape", ["fixed", "empty_task", "mixed"])
@pytest.mark.parametrize("batch", [7, 1 << 20])
def test_digest_is_the_reference_stream(shape, batch, monkeypatch):
    monkeypatch.setattr(evidence_digest, "BATCH_ROWS", batch)
    rows = rows_of(random.Random(len(shape) + batch), 60, shape)
    table = EvidenceTable.build(rows)
    expected = hashlib.sha256(reference_stream(rows)).hexdigest()
    assert table.content_digest() == expected
    # The same values in several chunks, and as a slice of a longer table.
    arrow = table.arrow
    chunked = pa.concat_tables([arrow.slice(0, 13), arrow.slice(13, 30), arrow.slice(43)])
    assert evidence_digest.content_digest(chunked, COLUMNS) == expected
    padded = pa.concat_tables([arrow, arrow]).combine_chunks().slice(len(rows) // 2, len(rows))
    other = rows[len(rows) // 2:] + rows[:len(rows) // 2]
    assert evidence_digest.content_digest(padded, COLUMNS) == hashlib.sha256(reference_stream(other)).hexdigest()


def test_an_empty_table_digests_the_column_names_alone():
    table = EvidenceTable.build([])
    assert table.content_digest() == hashlib.sha256(reference_stream([])).hexdigest()
