"""Evidence entries: the template's and the Python API's way to name harness files and audit inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import libero_plus_fixture
from worldflux_nb.core.planning import build_plan
from worldflux_nb.errors import InputError
from worldflux_nb.io.evidence_entries import entry_from_mapping, import_entries, sample_entries
from worldflux_nb.sample import reference_contract, reference_profile
from worldflux_nb.sample.evidence import write_sample_evidence


@pytest.fixture(scope="module")
def plan():
    return build_plan(reference_profile(), seed=1234, contracts=[reference_contract()],
                      libero_plus_classification=libero_plus_fixture())


def test_sample_entries_import_every_sample_file_with_its_options(plan, tmp_path):
    samples = write_sample_evidence(plan, tmp_path)
    entries = sample_entries(samples, tmp_path)
    assert [e.format for e in entries] == [s.format for s in samples]
    with_version = next(e for e, s in zip(entries, samples) if s.options)
    assert with_version.options.harness_version == "0.6.1"  # `--harness-version` reaches the importer
    folders = [e for e, s in zip(entries, samples) if s.files]
    assert folders and all(Path(e.path).is_dir() for e in folders)  # vla-eval results folders
    audits = import_entries(entries, plan)
    assert [a.probe_id for a in audits] == [s.probe_id for s in samples]
    assert all(a.episodes for a in audits)


@pytest.mark.parametrize("entry,field", [
    ({"format": "jsonl"}, "path"),
    ({"path": "x.jsonl"}, "format"),
    ({"format": "jsonl", "path": "x.jsonl"}, "probe_id"),
    ({"format": "jsonl", "path": "x.jsonl", "probe_id": "libero", "levels": 3}, "levels"),
    ({"format": "jsonl", "path": "x.jsonl", "probe_id": "libero", "task_map": ["no-equals"]}, "harness_files"),
])
def test_bad_entries_name_the_field(entry, field):
    with pytest.raises(InputError) as err:
        entry_from_mapping(entry)
    assert field in err.value.one_line()


def test_unknown_format_names_the_file(plan, tmp_path):
    path = tmp_path / "results.bin"
    path.write_text("{}")
    with pytest.raises(InputError) as err:
        import_entries([entry_from_mapping({"format": "nope", "path": str(path), "probe_id": "libero"})], plan)
    assert err.value.one_line().startswith(f"{path}: format:")
