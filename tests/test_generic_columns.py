"""The vectorised JSONL import (DuckDB columns) gives exactly the audit input of the row-by-row import,
and hands anything unusual to it, so refusals still name the line."""

from __future__ import annotations

import json
import random
import time

import pytest

from test_conformance import make_plan
from worldflux_nb.core.importers import FORMATS
from worldflux_nb.core.importers.generic import audit_input_from_json_columns
from worldflux_nb.errors import InputError
from worldflux_nb.io import evidence_files
from worldflux_nb.io.artifacts import audit_input_file
from worldflux_nb.io.evidence_files import import_bytes, import_file
from worldflux_nb.io.evidence_tables import read_jsonl_columns


@pytest.fixture(autouse=True)
def columns_path_for_every_size(monkeypatch):
    """These tests are about DuckDB's columns: `import_file` takes them whatever the file's size
    (a small file is otherwise read row by row, see the last test)."""
    monkeypatch.setattr(evidence_files, "SMALL_JSONL_BYTES", -1)


def lines(rng: random.Random, count: int) -> list[dict]:
    """Generic rows as harnesses write them: fields left out, levels as numbers and text, every status."""
    out = []
    for i in range(count):
        status = rng.choice(["completed"] * 5 + ["timeout", "infra_failure", "pending", None])
        success = (rng.random() < 0.6 if status in ("completed", None)
                   else False if status == "timeout" else None)
        row = {"task_id": rng.choice(["suite/0", " suite/0 "]), "episode_index": i % 9,
               "seed": rng.choice([None, 1000 + i % 9, 7, -(2**63)]), "success": success}
        if status is not None:
            row["status"] = status
        if rng.random() < 0.8:
            row["axis"], row["level"] = rng.choice([("light", "dim"), ("light", "dim"), ("nominal", 0),
                                                    ("camera", 2), ("camera", "2")])
        if rng.random() < 0.5:
            row["probe_id"] = "beta"
        if rng.random() < 0.7:
            row["metadata"] = rng.choice([{}, {"camera_config_id": "c", "n": 1}, {"n": True, "x": None},
                                          {"rate": 0.25, "z": "é"}, {"n": 1.0}])
        out.append(row)
    return out


def write(tmp_path, rows, name="evidence.jsonl") -> str:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def both(path: str, plan, **options):
    fast = import_file(FORMATS["jsonl"], path, plan=plan, probe_id="beta")
    with open(path, "rb") as handle:
        slow = import_bytes(FORMATS["jsonl"], handle.read(), source=path, plan=plan, probe_id="beta")
    return fast, slow


def test_columns_and_rows_give_the_same_audit_input(tmp_path):
    plan = make_plan(9)
    path = write(tmp_path, lines(random.Random(3), 600))
    assert audit_input_from_json_columns(read_jsonl_columns(path), source_name=path, plan=plan,
                                          probe_id="beta") is not None  # the fast path was taken
    fast, slow = both(path, plan)
    assert fast.episodes == slow.episodes and fast.source.task_mapping == slow.source.task_mapping
    assert fast.source.notes == slow.source.notes and fast.redactions == slow.redactions
    assert fast.audit_digest == slow.audit_digest == fast.computed_digest()
    # The columns' text stays dictionary-encoded (a few bytes a row, not the texts a row).
    encoded = fast.episodes.encoded.schema
    assert all(str(encoded.field(name).type).startswith("dictionary<values=string")
               for name in ("probe_id", "task_id", "axis", "level", "status", "metadata"))


@pytest.mark.parametrize("change, vouched", [
    ({"metadata": {"note": "token=hf_" + "a" * 34}}, False),  # a redaction: the row path records its line
    ({"episode_index": 3.0}, False), ({"task_id": "sk-" + "a" * 40}, False),
    ({"level": "x" * 70}, False),                             # shortened by the redactor
    ({"level": 2.0}, True),                                   # the row path's own reading: level 2
    ({"task_id": 0, "axis": 5}, True), ({"metadata": 0}, True),
])
def test_what_the_columns_cannot_vouch_for_is_read_row_by_row(tmp_path, change, vouched):
    plan = make_plan(9)
    rows = lines(random.Random(4), 50)
    rows[17] = {**rows[17], "axis": "light", "level": "dim", **change}
    path = write(tmp_path, rows)
    fast_only = audit_input_from_json_columns(read_jsonl_columns(path), source_name=path, plan=plan,
                                              probe_id="beta")
    assert (fast_only is not None) == vouched
    fast, slow = both(path, plan)
    assert fast.episodes == slow.episodes and fast.redactions == slow.redactions


@pytest.mark.parametrize("text, where", [
    ('{"task_id": "suite/0", "episode_index": 1, "episode_index": 2, "success": true}\n', "episode_index"),
    ('{"task_id": "suite/0", "episode_index": 1, "success": true, "metadata": {"a": 1, "a": 2}}\n', "a"),
    ('{"task_id": "suite/0", "episode_index": -1, "success": true}\n', "line 1.episode_index"),
    ('{"task_id": "suite/0", "episode_index": 1, "success": "yes"}\n', "line 1.success"),
    ('{"task_id": "suite/0", "episode_index": 1, "status": "timeout", "success": true}\n', "line 1.success"),
    ('{"task_id": "suite/0", "episode_index": 1, "probe_id": "alpha", "success": true}\n', "line 1.probe_id"),
    ("[1, 2]\n", "line 1"),
    ('{"task_id": "suite/0", "episode_index": 1, "seed": "7", "success": true}\n', "line 1.seed"),
    ('{"task_id": "suite/0", "episode_index": 1, "success": true, "x": {"a": 1, "a": 2}}\n', "a"),
    ('{"task_id": "suite/0", "episode_index": 1, "success": true, "x": 1%s}\n' % ("0" * 120), "line 1"),
    ('{"task_id": true, "episode_index": 1, "success": true}\n', "line 1.task_id"),
    ('{"task_id": "suite/0", "episode_index": 1, "success": true, "metadata": {"nested": [1, 2]}}\n',
     "line 1.metadata.nested"),  # refused by the row path, never dropped (issue 11)
    ('{"task_id": "suite/0", "episode_index": 1, "success": true, "metadata": {"big": 1e999}}\n',
     "line 1.metadata.big"),
])
def test_bad_files_are_refused_naming_the_line_and_key(tmp_path, text, where):
    plan = make_plan(9)
    path = tmp_path / "bad.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=where.replace(".", r"\.")):
        import_file(FORMATS["jsonl"], path, plan=plan, probe_id="beta")


def test_an_unplanned_task_reads_the_same_both_ways(tmp_path):
    """Tasks the plan does not contain are kept as out-of-protocol evidence by either path."""
    plan = make_plan(9)
    rows = lines(random.Random(6), 40)
    rows[5] = {**rows[5], "task_id": "suite/9", "axis": "light", "level": "dim"}
    fast, slow = both(write(tmp_path, rows), plan)
    assert fast.episodes == slow.episodes and fast.source.notes == slow.source.notes
    assert fast.audit_digest == slow.audit_digest


@pytest.mark.parametrize("line, vouched", [
    ('{"task_id": "suite/0", "episode_index": 1, "seed": null, "success": true, "metadata": {"a": null}}', True),
    ('{"task_id":"suite/0","episode_index":1,"success":true,"extra":null}', True),   # a null extra: ignored both ways
    ('{"task_id": "suite/0", "episode_index": 1, "success": true, "extra": 0}', False),
    ('{"task_id": "suite/0", "episode_index": 1, "success": true, "metadata": {"a": {"b": 1}}}', False),
    ('{"task_id": "suite/0", "episode_index" : 1, "success": true, "extra": 0, "seed": null}', False),
    ('{"task_id": "suite/0", "episode_index": 1, "success": true, "metadata": {"u": "a\\":1"}}', False),
])
def test_key_markers_find_every_key_duckdb_does_not_read(tmp_path, line, vouched):
    """`scan_file` counts the keys with a value in the text; DuckDB reads only the generic fields,
    so the counts agree exactly when no other key carries a value."""
    from worldflux_nb.io.evidence_tables import non_null_keys, scan_file

    path = tmp_path / "e.jsonl"
    path.write_text((line + "\n") * 3, encoding="utf-8")
    digest, size, markers = scan_file(path)
    assert size == path.stat().st_size and digest.startswith("sha256:")
    assert (markers == non_null_keys(read_jsonl_columns(path))) == vouched
    if '"extra": 0' in line:  # a key with a value outside the generic fields: refused by either reader
        for read in (lambda: import_file(FORMATS["jsonl"], path, plan=make_plan(9), probe_id="beta"),
                     lambda: import_bytes(FORMATS["jsonl"], path.read_bytes(), source=str(path),
                                          plan=make_plan(9), probe_id="beta")):
            with pytest.raises(InputError, match=r"e\.jsonl: line 1: has the key 'extra'.*belong in metadata"):
                read()
        return
    if '{"b": 1}' in line:  # nested metadata: refused whichever path reads it, never dropped
        with pytest.raises(InputError, match=r"line 1\.metadata\.a: must be a scalar"):
            both(str(path), make_plan(9))
        return
    fast, slow = both(str(path), make_plan(9))
    assert fast.episodes == slow.episodes and fast.audit_digest == slow.audit_digest


# Around the edges of the count's blocks (io.evidence_tables._BLOCK bytes), and within one.
@pytest.mark.parametrize("size", [0, 1, 3, 4, 65539, *(2 ** 17 + d for d in (-1, 0, 1, 2, 3)), 2 ** 18 + 3, 400003])
def test_key_markers_are_counted_across_block_edges_as_in_the_text(size):
    """The block-wise count equals the count over the whole text: `":` (and `"` whitespace `:` where a
    colon follows anything but a quote) less `":n` and `": n`, wherever a block edge falls."""
    import re

    from worldflux_nb.io.evidence_tables import _BLOCK, _non_null_markers

    assert _BLOCK == 2 ** 17  # the sizes above straddle its edges
    rng = random.Random(size)
    for alphabet in (b'":n {}a', b'": n\t{}'):
        data = bytes(rng.choices(alphabet, k=size))
        expected = data.count(b'":') - data.count(b'":n') - data.count(b'": n')
        if data.count(b":") != data.count(b'":'):
            expected += len(re.findall(rb'"[ \t\r\n]+:', data))
        assert _non_null_markers(data) == expected


def test_a_code_column_of_one_value_is_repeated_as_arrow_would_take_it():
    import pyarrow as pa

    from worldflux_nb.core.importers.generic_columns import Coded

    for codes in ([0, 0, 0], [0, None, 0], []):
        column = Coded(["{\"a\":1}"], pa.array(codes, pa.int32()))
        taken = column.take(column.values, pa.string())
        assert taken.type == pa.string() and taken.to_pylist() == ["{\"a\":1}" if c is not None else None for c in codes]


def _reader_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name.startswith(("wfnb-jsonl", "wfnb-scan"))]


def test_the_plan_loads_while_duckdb_reads_and_the_readers_stop_with_a_refused_plan(tmp_path, monkeypatch):
    """Given a plan loader, a JSON Lines import starts DuckDB's read and the file's digest first, calls
    the loader once (same audit input as a loaded plan), and leaves no reader running if it fails."""
    import threading

    from worldflux_nb.io.evidence_tables import JsonlBatches

    plan = make_plan(9)
    path = write(tmp_path, lines(random.Random(5), 900))
    seen = []
    loaded = threading.Event()
    hand_on = JsonlBatches._hand_on

    def held(self, item, size):  # DuckDB's reader stays alive, holding its first batch, until the plan is loaded
        loaded.wait(30)
        return hand_on(self, item, size)

    monkeypatch.setattr(JsonlBatches, "_hand_on", held)

    def loader():
        seen.append(_reader_threads())
        loaded.set()
        return plan

    audit = import_file(FORMATS["jsonl"], path, plan=loader, probe_id="beta")
    assert len(seen) == 1 and "wfnb-jsonl" in seen[0]
    assert audit.audit_digest == import_file(FORMATS["jsonl"], path, plan=plan, probe_id="beta").audit_digest

    def refused():
        raise InputError("plan.json", "plan_digest", "does not match")

    with pytest.raises(InputError, match="plan.json: plan_digest: does not match"):
        import_file(FORMATS["jsonl"], path, plan=refused, probe_id="beta")
    assert _reader_threads() == []


def test_a_consumer_that_stops_early_stops_the_reader(tmp_path):
    """DuckDB reads ahead of the consumer by a bounded number of bytes and stops when the consumer does."""
    from worldflux_nb.io.evidence_tables import JsonlBatches

    path = write(tmp_path, lines(random.Random(6), 5000))
    with JsonlBatches(path, batch_rows=100, ahead_bytes=1) as batches:
        reading = iter(batches)
        first = next(reading)
        deadline = time.monotonic() + 60
        while not batches._pending and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # the reader would run on to the end of the file if nothing held it back
        assert first.num_rows <= 100 and len(batches._pending) == 1
    assert _reader_threads() == [] and not batches.readable
    with JsonlBatches(path, batch_rows=100, ahead_bytes=1) as batches:
        assert sum(batch.num_rows for batch in batches) == 5000
    assert batches.readable


@pytest.mark.parametrize("chunk", [7, 64, 1 << 22])
def test_the_file_scan_reads_in_line_aligned_chunks_as_the_whole_text_reads(tmp_path, monkeypatch, chunk):
    """Digest, size and key markers are those of the whole file, however the chunks fall (lines
    longer than a chunk included)."""
    import hashlib

    from worldflux_nb.io import evidence_tables
    from worldflux_nb.io.evidence_tables import _non_null_markers, scan_file

    rows = lines(random.Random(7), 300)
    rows[5]["metadata"] = {"long": "x" * 500, "k": None}
    data = ("".join(json.dumps(r) + "\n" for r in rows) + '{"task_id": "suite/0", "s" : null}').encode("utf-8")
    path = tmp_path / "e.jsonl"
    path.write_bytes(data)
    monkeypatch.setattr(evidence_tables, "_CHUNK", chunk)
    assert scan_file(path) == ("sha256:" + hashlib.sha256(data).hexdigest(), len(data), _non_null_markers(data))


def test_a_reader_that_cannot_start_fails_the_consumer_instead_of_leaving_it_waiting(tmp_path, monkeypatch):
    import sys

    from worldflux_nb.io.evidence_tables import JsonlBatches

    path = write(tmp_path, lines(random.Random(8), 10))
    monkeypatch.setitem(sys.modules, "duckdb", None)  # `import duckdb` raises ImportError
    with pytest.raises(ImportError), JsonlBatches(path) as batches:
        batches.wait_reading()  # returns: the reader has given up
        list(batches)
    assert _reader_threads() == []


def test_waiting_for_duckdb_to_read_returns_once_its_query_runs_and_the_batches_follow(tmp_path):
    """`wait_reading` (what an import waits for before loading the plan) returns with DuckDB's query
    under way, before any batch is taken, and takes nothing from the consumer."""
    from worldflux_nb.io.evidence_tables import JsonlBatches

    path = write(tmp_path, lines(random.Random(9), 700))
    with JsonlBatches(path, batch_rows=100) as batches:
        batches.wait_reading()
        assert batches._reading.is_set() and "wfnb-jsonl" in _reader_threads()
        assert sum(batch.num_rows for batch in batches) == 700
    assert batches.readable


@pytest.mark.parametrize("extension", [".json", ".parquet"])
def test_a_small_file_read_row_by_row_gives_the_columns_audit_input_byte_for_byte(tmp_path, monkeypatch, extension):
    """Below `SMALL_JSONL_BYTES` the file is read row by row (no DuckDB start); the audit input written
    is the same bytes as the columns' path gives, just under and just over the threshold."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    plan = make_plan(9)
    path = write(tmp_path, lines(random.Random(10), 400))
    size = (tmp_path / "evidence.jsonl").stat().st_size
    written = {}
    for threshold in (size - 1, size, -1, 1 << 40):
        monkeypatch.setattr(evidence_files, "SMALL_JSONL_BYTES", threshold)
        started = []
        monkeypatch.setattr(evidence_files._JsonlRead, "__enter__",
                            lambda self, enter=evidence_files._JsonlRead.__enter__: started.append(1) or enter(self))
        audit = import_file(FORMATS["jsonl"], path, plan=lambda: plan, probe_id="beta")
        written[threshold] = audit_input_file(audit, tmp_path / f"audit{extension}")
        assert bool(started) == (threshold < size)
    assert len(set(written.values())) == 1


def test_a_fresh_redactor_reuses_the_scans_but_none_of_the_findings():
    """The column import's assembly gets a redactor that starts with no redactions but reuses the task
    names' scans: a redacted text is found, and recorded, by each redactor on its own."""
    from secret_shapes import SHAPES
    from worldflux_nb.core.importers.common import Redactor

    secret = SHAPES["client_secret"][0]
    first = Redactor()
    clean = first.text(secret, "episodes.task_id")
    fresh = first.fresh()
    assert fresh.redactions == [] and fresh.non_finite == 0
    assert fresh.text(secret, "source.task_mapping.<key>") == clean != secret
    assert [r.location for r in fresh.redactions] == ["source.task_mapping.<key>"]
    assert [r.location for r in first.redactions] == ["episodes.task_id"]


def test_task_names_resolve_against_a_set_of_the_probe_s_tasks_as_against_the_plan():
    """resolve_task given the probe's tasks as a set (the column import's, for many names) maps as without."""
    from worldflux_nb.core.importers import ImportOptions
    from worldflux_nb.core.importers.common import probe_tasks, resolve_task

    plan = make_plan(9)
    known = frozenset(probe_tasks(plan, "beta", "x"))
    for name in [*sorted(known), "not planned"]:
        for options in (ImportOptions(), ImportOptions(task_map={"not planned": sorted(known)[0]})):
            with_set, without = {}, {}
            assert resolve_task(name, plan=plan, probe_id="beta", options=options, source="x", where="t",
                                mapping=with_set, known=known) == \
                resolve_task(name, plan=plan, probe_id="beta", options=options, source="x", where="t",
                             mapping=without)
            assert with_set == without


def test_cells_resolve_from_the_probe_s_pairs_made_once_as_from_the_plan():
    """resolve_cell given planned_pairs (made once for many tasks) answers, notes and refuses as without."""
    from worldflux_nb.core.importers import ImportOptions
    from worldflux_nb.core.importers.common import planned_pairs, probe_tasks, resolve_cell

    plan = make_plan(9)
    for probe_id in sorted({cell.probe_id for cell in plan.cells}):
        planned = planned_pairs(plan, probe_id)
        cells = [c for c in plan.cells if c.probe_id == probe_id]
        for task_id in [*probe_tasks(plan, probe_id, "x"), "not planned"]:
            for options in (ImportOptions(), ImportOptions(axis=cells[0].axis, level=cells[0].level),
                            ImportOptions(axis="other", level=7)):
                outcomes = []
                for given in (planned, None):
                    notes: list[str] = []
                    try:
                        outcomes.append((resolve_cell(plan=plan, probe_id=probe_id, task_id=task_id, options=options,
                                                      source="x", notes=notes, planned=given), notes))
                    except InputError as exc:
                        outcomes.append(str(exc))
                assert outcomes[0] == outcomes[1]
