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


@pytest.mark.parametrize("form", [2, 1])
@pytest.mark.parametrize("shape", ["fixed", "empty_task", "mixed"])
@pytest.mark.parametrize("batch", [7, 1 << 20])
def test_digest_is_the_reference_stream(shape, batch, form, monkeypatch):
    monkeypatch.setattr(evidence_digest, "PIECE_BYTES", batch)
    rows = rows_of(random.Random(len(shape) + batch), 60, shape)
    table = EvidenceTable.build(rows)
    expected = hashlib.sha256(reference_stream(rows, form)).hexdigest()
    assert table.content_digest(form) == expected
    # The same values in several chunks, and as a slice of a longer table.
    arrow = table.arrow
    chunked = pa.concat_tables([arrow.slice(0, 13), arrow.slice(13, 30), arrow.slice(43)])
    assert evidence_digest.content_digest(chunked, COLUMNS, form) == expected
    padded = pa.concat_tables([arrow, arrow]).combine_chunks().slice(len(rows) // 2, len(rows))
    other = rows[len(rows) // 2:] + rows[:len(rows) // 2]
    assert evidence_digest.content_digest(padded, COLUMNS, form) == hashlib.sha256(reference_stream(other, form)).hexdigest()


def test_an_audit_input_sealed_in_form_1_still_verifies_and_a_change_to_it_is_refused():
    from test_scale import sealed_input

    sealed = sealed_input(rows_of(random.Random(8), 50, "mixed"))
    assert sealed.audit_digest == sealed.computed_digest() != sealed.computed_digest(1)
    earlier = sealed.model_copy(update={"audit_digest": sealed.computed_digest(1)})
    assert earlier.digest_problem() is None
    changed = earlier.model_copy(update={"probe_id": "alpha"})
    assert "does not match the content" in changed.digest_problem()
    with pytest.raises(ValueError, match="no canonical stream form 3"):
        sealed.episodes.content_digest(3)


@pytest.mark.parametrize("seeds, stored", [([None, 3, -(2**31)], pa.int32()), ([None], pa.null()),
                                           ([2**31 - 1, 2**31, None], pa.int64())])
def test_integers_are_kept_as_narrow_as_they_fit_and_digest_the_same(seeds, stored):
    """Seeds that fit int32 are kept as int32, none at all as Arrow's null type, others as int64;
    `.arrow` gives int64 either way, and the digest is the documented stream."""
    rows = [dict(row, seed=seeds[i % len(seeds)]) for i, row in enumerate(rows_of(random.Random(5), 40, "mixed"))]
    table = EvidenceTable.build(rows)
    assert table.encoded.schema.field("seed").type == stored
    assert table.encoded.schema.field("episode_index").type == pa.int32()
    assert table.arrow.schema.field("seed").type == pa.int64() == table.column("episode_index").type
    assert table.content_digest() == hashlib.sha256(reference_stream(rows)).hexdigest()
    assert [row["seed"] for row in table.to_pylist()] == [row["seed"] for row in rows]


def test_an_empty_table_digests_the_column_names_alone():
    table = EvidenceTable.build([])
    assert table.content_digest() == hashlib.sha256(reference_stream([])).hexdigest()


@pytest.mark.parametrize("form", [2, 1])
@pytest.mark.parametrize("shape", ["fixed", "empty_task", "mixed"])
@pytest.mark.parametrize("batch", [7, 1 << 20])
def test_dictionary_encoded_text_digests_as_the_reference_stream(shape, batch, form, monkeypatch):
    """Text as a Parquet file holds it (dictionary-encoded, chunks with dictionaries of their own, a
    value no row uses, nulls among the codes) is kept encoded and hashed to the same stream."""
    import pyarrow.compute as pc

    monkeypatch.setattr(evidence_digest, "PIECE_BYTES", batch)
    rows = rows_of(random.Random(len(shape) * 3 + batch), 60, shape)
    expected = hashlib.sha256(reference_stream(rows, form)).hexdigest()
    plain = EvidenceTable.build(rows).arrow

    def encoded(name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
        if column.type != pa.string():
            return column
        # A dictionary value no row uses must change nothing.
        unused = {"status": "pending", "metadata": '{"unused":1}'}.get(name, "unused value")
        return pa.chunked_array([pa.DictionaryArray.from_arrays(
            pc.index_in(chunk, values := pa.concat_arrays([pc.unique(chunk.combine_chunks()).drop_null(),
                                                           pa.array([unused])])), values)
            for chunk in (column.slice(0, 25), column.slice(25))])

    table = EvidenceTable.build(pa.table({name: encoded(name, plain.column(name)) for name in plain.column_names}))
    assert all(pa.types.is_dictionary(t) or pa.types.is_null(t) for (_, kind, _), t in
               zip(COLUMNS, table.encoded.schema.types) if kind == "string")
    assert table.arrow.equals(plain) and table == EvidenceTable.build(rows)
    assert table.content_digest(form) == expected


@pytest.mark.parametrize("form", [2, 1])
def test_a_dictionary_in_any_order_digests_as_its_values(form):
    """Form 2 numbers a text column's values by first appearance, whatever order the file's dictionary
    keeps them in (here reversed, an unused value first, a value given twice): the stream depends on
    the values alone."""
    import pyarrow.compute as pc

    rows = rows_of(random.Random(21), 80, "mixed")
    plain = EvidenceTable.build(rows).arrow

    def reordered(column: pa.ChunkedArray) -> pa.ChunkedArray:
        if column.type != pa.string() or not column.null_count < len(column):
            return column
        distinct = pc.unique(column.combine_chunks()).drop_null()[::-1]
        values = pa.concat_arrays([pa.array(["never used"]), distinct, distinct.slice(0, 1)])
        codes = pc.index_in(column.combine_chunks(), values).to_pylist()
        # Every other row of the first value names its second copy at the dictionary's end.
        codes = [len(values) - 1 if code == 1 and i % 2 else code for i, code in enumerate(codes)]
        return pa.chunked_array([pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), values)])

    table = EvidenceTable.build(pa.table({name: reordered(plain.column(name)) for name in plain.column_names}))
    assert pa.types.is_dictionary(table.encoded.schema.field("task_id").type)
    assert table.content_digest(form) == hashlib.sha256(reference_stream(rows, form)).hexdigest()


@pytest.mark.parametrize("distinct", [126, 127, 128, 255, 256])
def test_dictionary_codes_hold_the_null_code_at_any_dictionary_size(distinct):
    """Nulls among narrow codes: a dictionary of 127 values fills int8 (0..126), the null's code is
    one past it; the digest and conformance's codes must not wrap around."""
    from worldflux_nb.core.evidence_columns import evidence_columns

    rows = [{"probe_id": "p", "task_id": "t", "axis": "a", "level": 1, "episode_index": i, "seed": None,
             "success": True, "status": "completed", "metadata": None if i % 2 else {"k": i // 2}}
            for i in range(2 * distinct)]
    plain = EvidenceTable.build(rows)
    encoded = EvidenceTable.build({name: plain.arrow.column(name).dictionary_encode()
                                   if plain.arrow.schema.field(name).type == pa.string() else plain.arrow.column(name)
                                   for name in plain.arrow.column_names})
    assert pa.types.is_dictionary(encoded.encoded.schema.field("metadata").type)
    assert encoded.content_digest() == hashlib.sha256(reference_stream(rows)).hexdigest()
    ours, theirs = evidence_columns(encoded), evidence_columns(plain)
    assert [ours.metadatas[c] for c in ours.metadata] == [theirs.metadatas[c] for c in theirs.metadata]
