"""Audit inputs as JSON or Parquet: one content digest for both, and no changed byte ever read back as
different evidence (it is refused, or it did not change the content)."""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from test_conformance import audit, make_plan
from test_scale import random_rows
from worldflux_nb.errors import InputError
from worldflux_nb.io.artifacts import HEADER_KEY, audit_input_file, load


def sealed(count: int = 400, seed: int = 5):
    rows = random_rows(random.Random(seed), count)
    rows[3].update(failure_reason="gripper slipped", run_id="r-1", recorded_at="2026-01-01T00:00:00Z",
                   harness_task="pick up the bowl")
    return audit(make_plan(4), "beta", rows)


def write(ai, path):
    data = audit_input_file(ai, path)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def test_json_and_parquet_carry_the_same_digest_and_load_to_the_same_audit_input(tmp_path):
    ai = sealed()
    from_json = load(write(ai, tmp_path / "audit.json"))
    from_parquet = load(write(ai, tmp_path / "audit.parquet"))
    assert from_json == from_parquet == ai
    assert from_json.audit_digest == from_parquet.audit_digest == ai.computed_digest()
    table = pq.read_table(tmp_path / "audit.parquet")
    assert table.schema.field("level").type == pa.string() and table.schema.field("seed").type == pa.int64()
    assert "episodes" not in json.loads(table.schema.metadata[HEADER_KEY])


@pytest.mark.parametrize("column", ["probe_id", "task_id", "level", "episode_index", "seed", "success",
                                    "status", "metadata", "failure_reason", "run_id"])
def test_a_changed_value_in_any_column_is_refused(tmp_path, column):
    ai = sealed()
    path = write(ai, tmp_path / "audit.parquet")
    table = pq.read_table(path)
    values = table.column(column).to_pylist()
    row = 3 if column in ("failure_reason", "run_id") else 17
    value = values[row]
    changed = {str: lambda v: v[:-1] + chr(ord(v[-1]) ^ 1) if v != "{}" else '{"a":1}',
               int: lambda v: v + 1 if v < 2**63 - 1 else v - 1, bool: lambda v: not v,
               type(None): lambda v: None}[type(value)](value)
    if value is None:  # null becomes a value of the column's type
        kind = table.schema.field(column).type
        changed = '{"a":1}' if column == "metadata" else 0 if kind == pa.int64() else True if kind == pa.bool_() else "x"
    if column == "status":
        changed = "timeout" if value != "timeout" else "pending"
    values[row] = changed
    index = table.column_names.index(column)
    table = table.set_column(index, table.schema.field(index), pa.array(values, table.schema.field(index).type))
    pq.write_table(table, path)
    with pytest.raises(InputError, match="audit_digest|episodes\\[17\\]"):
        load(path)


def test_a_changed_header_field_is_refused(tmp_path):
    ai = sealed()
    path = write(ai, tmp_path / "audit.parquet")
    table = pq.read_table(path)
    header = json.loads(table.schema.metadata[HEADER_KEY])
    header["source"]["format_version"] += "x"
    pq.write_table(table.replace_schema_metadata({HEADER_KEY: json.dumps(header)}), path)
    with pytest.raises(InputError, match="audit_digest"):
        load(path)


@pytest.mark.parametrize("suffix", [".json", ".parquet"])
def test_no_flipped_byte_is_read_back_as_different_evidence(tmp_path, suffix):
    ai = sealed(count=8, seed=9)
    path = write(ai, tmp_path / f"audit{suffix}")
    original = path.read_bytes()
    positions = range(len(original)) if suffix == ".json" else sorted(
        random.Random(1).sample(range(len(original)), min(len(original), 1500)))
    accepted = 0
    for position in positions:
        data = bytearray(original)
        data[position] ^= 0x01
        path.write_bytes(bytes(data))
        try:
            loaded = load(path)
        except InputError:
            continue
        assert loaded == ai and loaded.audit_digest == ai.audit_digest, position
        accepted += 1
    assert accepted < len(positions) // 2  # most flips change content and are refused


def test_a_parquet_file_without_the_header_or_with_other_columns_is_refused(tmp_path):
    ai = sealed(count=10)
    path = tmp_path / "audit.parquet"
    pq.write_table(ai.episodes.arrow, path)
    with pytest.raises(InputError, match="worldflux_nb.header"):
        load(path)
    write(ai, path)
    table = pq.read_table(path)
    pq.write_table(table.append_column("score", pa.array([1.0] * len(table))), path)
    with pytest.raises(InputError, match="episodes.score: is not a known column"):
        load(path)
    pq.write_table(table.drop_columns(["status"]), path)
    with pytest.raises(InputError, match="episodes.status: is required"):
        load(path)


def test_one_row_limit_at_import_and_packet_raised_by_one_flag(reference_flow, tmp_path):
    """`--max-evidence-rows` refuses the same evidence at import and at packet time, and raises both."""
    from hardening_support import cli

    probe = reference_flow.probes[0]
    rows = len(load(reference_flow.audit(probe)).episodes)
    parquet = tmp_path / "audit.parquet"
    base = ["audit", "import", "jsonl", reference_flow.evidence(probe), "--plan", reference_flow.plan,
            "--probe", probe, "--output", parquet]
    refused = cli([*base, "--max-evidence-rows", rows - 1])
    assert refused.code == 2 and "--max-evidence-rows" in refused.stderr and not parquet.exists()
    assert cli([*base, "--max-evidence-rows", rows]).code == 0
    assert load(parquet).audit_digest == load(reference_flow.audit(probe)).audit_digest

    packet = ["eval-portfolio", "packet", "--plan", reference_flow.plan, "--audit-input", f"{probe}={parquet}",
              "--output", tmp_path / "p.md", "--packet-json", tmp_path / "p.json"]
    refused = cli([*packet, "--max-evidence-rows", rows - 1])
    assert refused.code == 2 and "--max-evidence-rows" in refused.stderr and not (tmp_path / "p.json").exists()
    assert cli([*packet, "--max-evidence-rows", rows]).code == 0


def test_a_file_over_the_byte_cap_is_refused_naming_the_flag_that_raises_it(reference_flow, tmp_path):
    """The cap of 1 KiB a row is the row limit's: its refusal says so and names `--max-evidence-rows`,
    at import and at packet time (and `--max-bytes` where that flag set the cap)."""
    from hardening_support import cli

    probe = reference_flow.probes[0]
    source = reference_flow.evidence(probe)
    base = ["audit", "import", "jsonl", source, "--plan", reference_flow.plan, "--probe", probe,
            "--output", tmp_path / "audit.json"]
    refused = cli([*base, "--max-evidence-rows", 1])
    assert refused.code == 2 and refused.stderr.strip().splitlines() == [
        f"error: {source}: is {source.stat().st_size} bytes, over the 1024-byte limit (1 KiB a row of 1 row); "
        "raise it with --max-evidence-rows"]
    assert "; raise it with --max-bytes" in cli([*base, "--max-bytes", 100]).stderr
    audit = reference_flow.audit(probe)
    refused = cli(["eval-portfolio", "packet", "--plan", reference_flow.plan, "--audit-input", f"{probe}={audit}",
                   "--output", tmp_path / "p.md", "--packet-json", tmp_path / "p.json", "--max-evidence-rows", 2])
    assert refused.code == 2 and "over the 2048-byte limit (1 KiB a row of 2 rows); raise it with " \
                                 "--max-evidence-rows" in refused.stderr
    assert not (tmp_path / "audit.json").exists() and not (tmp_path / "p.json").exists()


def test_written_a_row_group_at_a_time_the_file_is_that_of_one_whole_table_write(monkeypatch):
    """The audit input's Parquet bytes do not depend on writing it in row groups (nor on its text
    being kept dictionary-encoded), and the groups are Arrow's default size."""
    import io

    from worldflux_nb.io import artifacts
    from worldflux_nb.models.digest import canonical_json

    probe = pa.BufferOutputStream()
    pq.write_table(pa.table({"x": pa.nulls(artifacts.ROW_GROUP_ROWS + 1, pa.int8())}), probe)
    groups = pq.ParquetFile(io.BytesIO(probe.getvalue().to_pybytes())).metadata
    assert [groups.row_group(i).num_rows for i in range(groups.num_row_groups)] == [artifacts.ROW_GROUP_ROWS, 1]

    ai = sealed(count=700)
    whole = pa.BufferOutputStream()
    pq.write_table(ai.episodes.arrow.replace_schema_metadata({HEADER_KEY: canonical_json(ai.header())}), whole,
                   compression="zstd", row_group_size=128)
    monkeypatch.setattr(artifacts, "ROW_GROUP_ROWS", 128)
    written = audit_input_file(ai, "audit.parquet")
    assert written == whole.getvalue().to_pybytes()
    assert pq.ParquetFile(io.BytesIO(written)).metadata.num_row_groups == 6


def _dictionary(values, codes):
    """A dictionary-encoded text column: `codes` (None: null) into `values`."""
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(values, pa.string()))


def _encoded_input(size: int, chunk_rows: int | None = None):
    """An audit input whose text columns are stored dictionary-encoded (as read from Parquet), each
    on one side of a condition for handing them to the writer encoded (io.parquet_text)."""
    from worldflux_nb.io.parquet_text import FIRST_PAGE_ROWS
    from worldflux_nb.models.evidence import AuditInput, AuditSource

    first = FIRST_PAGE_ROWS
    long_text = json.dumps({"note": "x" * 5000}, separators=(",", ":"))  # longer than Parquet's statistics keep
    columns = {
        "probe_id": _dictionary(["beta"], [0] * size),
        # a third value on the first page's last row: the codes' bit width is set on the first page
        "task_id": _dictionary(["t0", "t1", "t2"], [i % 2 if i != first - 1 else 2 for i in range(size)]),
        # a third value on the second page's first row: pages of 1-bit and 2-bit codes
        "axis": _dictionary(["a0", "a1", "a2"], [i % 2 if i != first else 2 for i in range(size)]),
        # a dictionary out of first-appearance order, with values no row uses
        "level": _dictionary(["unused", "3", "dim", "also unused", "hard level"],
                             [(4, 1, 2)[i % 3] for i in range(size)]),
        "episode_index": pa.array(range(size), pa.int64()), "seed": pa.array([None] * size, pa.int64()),
        "success": pa.array([i % 3 == 0 for i in range(size)]),
        "status": _dictionary(["completed"], [0] * size),
        "metadata": _dictionary(['{"a":1}', long_text, '{}'], [None if i % 5 == 0 else i % 3 for i in range(size)]),
        # a value a row: past the dictionary page's limit in a group of 45,000 rows, not of 7,000
        "run_id": _dictionary([f"run-{i:08d}-{'r' * 12}" for i in range(size)], list(range(size))),
        # one value, on no row of the first page: that page's codes take no bits at all
        "recorded_at": _dictionary(["2026-01-01T00:00:00Z"], [0 if i == size // 2 else None for i in range(size)]),
        # a value given twice in the dictionary
        "harness_task": _dictionary(["pick", "place", "pick"], [None if i % 4 else (i // 4) % 3 for i in range(size)]),
    }
    if chunk_rows:  # as an import's batches: chunks (the evidence table unifies their dictionaries)
        columns = {name: pa.chunked_array([column.slice(start, chunk_rows) for start in range(0, size, chunk_rows)])
                   for name, column in columns.items()}
    episodes = pa.table(columns)
    return AuditInput(plan_digest="sha256:" + "0" * 64, probe_id="beta", episodes=episodes,
                      source=AuditSource(importer="generic_jsonl", format_version="1", identity="explicit")).sealed()


@pytest.mark.parametrize("group_rows, chunk_rows", [(None, None), (7_000, None), (7_000, 9_999)])
def test_text_handed_to_the_writer_encoded_gives_the_bytes_of_the_decoded_text(monkeypatch, group_rows, chunk_rows):
    """Text columns kept dictionary-encoded for the Parquet writer (io.parquet_text) give the file
    one whole-table write of the decoded text gives, byte for byte; those that would not (codes
    wider after the first page, a dictionary past the page limit, a value given twice) are decoded."""
    import io

    from worldflux_nb.io import artifacts
    from worldflux_nb.io.parquet_text import direct_columns
    from worldflux_nb.models.digest import canonical_json

    if group_rows:
        monkeypatch.setattr(artifacts, "ROW_GROUP_ROWS", group_rows)
    ai = _encoded_input(45_000, chunk_rows)
    stored = ai.episodes.encoded
    assert pa.types.is_dictionary(stored.schema.field("run_id").type)
    direct = direct_columns(stored, stored.column_names, artifacts.ROW_GROUP_ROWS)
    # Row groups of 7,000 rows hold their first page whole: every code as wide as its group's dictionary.
    # Chunks' dictionaries unified hold each value once.
    decoded = ({"harness_task"} if not chunk_rows else set()) \
        | ({"axis", "recorded_at", "run_id"} if not group_rows else set())
    assert direct == {"probe_id", "task_id", "axis", "level", "status", "metadata", "run_id", "recorded_at",
                      "harness_task"} - decoded
    whole = pa.BufferOutputStream()
    pq.write_table(ai.episodes.arrow.replace_schema_metadata({HEADER_KEY: canonical_json(ai.header())}), whole,
                   compression="zstd", row_group_size=artifacts.ROW_GROUP_ROWS)
    written = audit_input_file(ai, "audit.parquet")
    assert written == whole.getvalue().to_pybytes()
    assert load_parquet_bytes(written) == ai
    assert pq.ParquetFile(io.BytesIO(written)).schema_arrow == ai.episodes.arrow.schema


def load_parquet_bytes(data: bytes):
    from worldflux_nb.io.artifacts import audit_input_from_parquet

    return audit_input_from_parquet(data, "audit.parquet")


def test_row_groups_begun_before_the_seal_give_the_same_file(monkeypatch):
    """`audit import` encodes the row groups in a thread while the content digest is computed and
    adds the header at the end: the bytes of the file written in one go. Row groups begun for other
    evidence are not used, and a begun write can be stopped."""
    from worldflux_nb.io import artifacts
    from worldflux_nb.io.artifacts import ParquetRowGroups

    monkeypatch.setattr(artifacts, "ROW_GROUP_ROWS", 7_000)
    ai = _encoded_input(45_000)
    unsealed = ai.model_copy(update={"audit_digest": None})
    begun = ParquetRowGroups.begin(unsealed.episodes, background=True)
    assert begun is not None
    assert audit_input_file(ai, "audit.parquet", begun=begun) == audit_input_file(ai, "audit.parquet")
    other = ParquetRowGroups.begin(_encoded_input(45_000).episodes, background=True)
    with pytest.raises(ValueError):
        other.finish(ai)
    assert audit_input_file(ai, "audit.parquet", begun=other) == audit_input_file(ai, "audit.parquet")
    other.cancel()
    stopped = ParquetRowGroups.begin(ai.episodes, background=True)
    stopped.cancel()
    assert not stopped._thread.is_alive()
