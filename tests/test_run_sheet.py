import io
import json

import pandas as pd
import pytest

from conftest import cell_episodes, libero_plus_fixture
from worldflux_nb.core.planning import build_plan
from worldflux_nb.core.run_sheet import (
    RUN_SHEET_COLUMNS, planned_episodes_frame, run_sheet_csv, run_sheet_files, run_sheet_for,
)
from worldflux_nb.errors import InputError
from worldflux_nb.io.artifacts import artifact_from_json, artifact_json, load, run_sheet_json
from worldflux_nb.models.digest import digest_of
from worldflux_nb.models.plan import EpisodeRange, PlanCell, SeedRule
from worldflux_nb.render.markdown import to_markdown
from worldflux_nb.render.plan_docs import run_sheet_document
from worldflux_nb.sample import reference_contract, reference_profile


@pytest.fixture()
def plan():
    return build_plan(reference_profile(), seed=1234, contracts=[reference_contract()])


def expected_rows(plan):
    return [(c.cell_id, c.probe_id, c.task_id, c.axis, c.level, i, s)
            for c in plan.cells for i, s in cell_episodes(c)]


def test_run_sheet_has_one_row_per_planned_episode(plan):
    sheet = run_sheet_for(plan)
    assert len(sheet.episodes) == plan.planned_episodes
    assert all(set(e) == set(RUN_SHEET_COLUMNS) for e in sheet.episodes)
    assert [tuple(e[k] for k in RUN_SHEET_COLUMNS) for e in sheet.episodes] == expected_rows(plan)
    assert sheet.plan_digest == plan.plan_digest
    data = sheet.to_json_dict()
    assert data["privacy"] == "LOCAL_PRIVATE" and data["schema_version"] == "worldflux_nb.run_sheet.v1"
    assert artifact_from_json(data, "run_sheet.json") == sheet


def test_frame_has_exactly_the_contract_columns_and_rows(plan):
    frame = planned_episodes_frame(plan)
    assert list(frame.columns) == list(RUN_SHEET_COLUMNS)
    rows = [tuple(None if pd.isna(v) else v for v in row)
            for row in frame.itertuples(index=False, name=None)]
    assert rows == expected_rows(plan)
    assert str(frame["seed"].dtype) == "Int64" and frame["episode_index"].dtype == "int64"
    assert not frame.duplicated(["probe_id", "task_id", "axis", "level", "episode_index"]).any()


def test_frame_keeps_level_types(plan):
    standard = build_plan(reference_profile(), seed=5, protocol="standard",
                          libero_plus_classification=libero_plus_fixture())
    levels = set(planned_episodes_frame(standard)["level"])
    assert {0, 1, 5, "on", "unrated"} <= levels


def test_frame_is_vectorised_at_a_million_episodes(plan):
    cells = [PlanCell(cell_id=f"custom:x:t{i}:nominal:0", probe_id="custom:x", task_id=f"t{i}",
                      axis="nominal", level=0, episodes=list(range(1000)),
                      seeds=list(range(1000))) for i in range(1000)]
    big = plan.model_copy(update={"cells": cells})
    frame = planned_episodes_frame(big)
    assert len(frame) == 1_000_000 and frame["seed"].iloc[-1] == 999


def test_every_cell_form_expands_to_the_same_episodes(plan):
    """A range with a rule and the explicit lists it stands for plan the same episodes."""
    forms = [
        (EpisodeRange(start=3, count=4), SeedRule(rule="run_seed_plus_index", run_seed=100)),
        ([3, 4, 5, 6], [103, 104, 105, 106]),
        (EpisodeRange(start=3, count=4), [103, 104, 105, 106]),
        ([3, 4, 5, 6], SeedRule(rule="run_seed_plus_index", run_seed=100)),
    ]
    frames = []
    for episodes, seeds in forms:
        cell = PlanCell(cell_id="custom:x:t:nominal:0", probe_id="custom:x", task_id="t",
                        axis="nominal", level=0, episodes=episodes, seeds=seeds)
        frames.append(planned_episodes_frame(plan.model_copy(update={"cells": [cell]})))
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0])
    assert frames[0]["seed"].tolist() == [103, 104, 105, 106]
    none = PlanCell(cell_id="a:t:nominal:0", probe_id="a", task_id="t", axis="nominal", level=0,
                    episodes=[9, 2], seeds=[None, 5])
    same = PlanCell(cell_id="b:t:nominal:0", probe_id="b", task_id="t", axis="nominal", level=0,
                    episodes=EpisodeRange(count=2), seeds=SeedRule(rule="run_seed", run_seed=-7))
    unseeded = PlanCell(cell_id="c:t:nominal:0", probe_id="c", task_id="t", axis="nominal",
                        level=0, episodes=EpisodeRange(start=5, count=1))
    frame = planned_episodes_frame(plan.model_copy(update={"cells": [none, same, unseeded]}))
    assert frame["episode_index"].tolist() == [9, 2, 0, 1, 5]
    assert [None if pd.isna(s) else s for s in frame["seed"]] == [None, 5, -7, -7, None]


@pytest.mark.parametrize("change", [
    dict(episodes=[1, 1]), dict(episodes=[]), dict(episodes=[-1]),
    dict(episodes={"start": 0, "count": 0}), dict(episodes={"start": -1, "count": 2}),
    dict(episodes={"start": 2**63 - 2, "count": 3}),
    dict(seeds=[1, 2]), dict(seeds={"rule": "run_seed"}), dict(seeds={"rule": "none", "run_seed": 3}),
    dict(seeds={"rule": "run_seed_plus_index", "run_seed": 2**63 - 2}),
    dict(seeds={"rule": "start_seed_plus_index", "run_seed": 1}),
])
def test_inconsistent_cells_are_refused(change):
    fields = dict(cell_id="a:t:nominal:0", probe_id="a", task_id="t", axis="nominal", level=0,
                  episodes={"start": 0, "count": 3})
    with pytest.raises(ValueError):
        PlanCell.model_validate({**fields, **change})


def test_csv_round_trips_with_empty_seeds(plan):
    sheet = run_sheet_for(plan)
    text = run_sheet_csv(sheet)
    assert text.splitlines()[0] == ",".join(RUN_SHEET_COLUMNS)
    back = pd.read_csv(io.StringIO(text), dtype={"seed": "Int64", "level": str})
    assert len(back) == plan.planned_episodes
    libero = back[back["probe_id"] == "libero"]
    assert (libero["seed"] == plan.probe("libero").run_seed).all()
    custom = back[back["probe_id"].str.startswith("custom:")]
    assert (custom["seed"] == plan.probe(custom["probe_id"].iloc[0]).run_seed
            + custom["episode_index"]).all()


def test_run_sheet_instructions_and_markdown(plan):
    sheet = run_sheet_for(plan)
    text = " ".join(sheet.instructions)
    assert plan.plan_digest in text and "station_id=station-3" in text
    markdown = to_markdown(run_sheet_document(sheet))
    assert "LOCAL_PRIVATE" in markdown
    assert markdown.count("\n| libero") + markdown.count("\n| custom") == plan.planned_episodes


def test_unsealed_plan_has_no_run_sheet(plan):
    with pytest.raises(ValueError):
        run_sheet_for(plan.model_copy(update={"plan_digest": None}))


def test_written_files_match_the_model_byte_for_byte(plan, tmp_path):
    """The column-wise writer (render-run-sheet) and the model path give the same bytes and digest."""
    files = run_sheet_files(plan)
    sheet = run_sheet_for(plan)
    assert files.header.run_sheet_digest == sheet.run_sheet_digest
    assert run_sheet_json(files.header, files.rows_json).decode() == artifact_json(sheet)
    assert files.csv.decode() == run_sheet_csv(sheet)
    data = json.loads(artifact_json(sheet))
    assert data["run_sheet_digest"] == digest_of(data, without="run_sheet_digest")  # canonical JSON
    path = tmp_path / "run_sheet.json"
    path.write_text(artifact_json(sheet))
    assert load(path) == sheet


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 24])
def test_the_digest_is_the_same_however_the_rows_are_cut(plan, monkeypatch, chunk):
    """The written rows are hashed in chunks cut before a newline; any chunk size gives the model's digest."""
    import worldflux_nb.core.run_sheet as run_sheet

    monkeypatch.setattr(run_sheet, "_DIGEST_CHUNK", chunk)
    files = run_sheet_files(plan, csv=False)
    assert files.header.run_sheet_digest == run_sheet_for(plan).run_sheet_digest and files.csv is None


@pytest.mark.parametrize("change", [
    lambda d: d["episodes"][3].update(seed=(d["episodes"][3]["seed"] or 0) + 1),
    lambda d: d["episodes"][0].update(episode_index=49),
    lambda d: d["episodes"].pop(),
    lambda d: d["invocations"][0].update(text=d["invocations"][0]["text"].replace("--seed=", "--seed=1")),
    lambda d: d["instructions"].pop(0),
])
def test_a_changed_run_sheet_is_refused_on_load(plan, tmp_path, change):
    data = json.loads(artifact_json(run_sheet_for(plan)))
    change(data)
    path = tmp_path / "run_sheet.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="run_sheet_digest"):
        load(path)


def test_csv_cannot_smuggle_a_formula_or_break_a_row(plan):
    cell = PlanCell(cell_id="custom:x:t:nominal:cmd", probe_id="custom:x", task_id="t",
                    axis="nominal", level='=HYPERLINK("x","y"),1', episodes=EpisodeRange(count=1))
    sheet = run_sheet_for(plan.model_copy(update={"cells": [cell]}))
    text = run_sheet_csv(sheet)
    back = pd.read_csv(io.StringIO(text), dtype=str)
    assert back.loc[0, "level"] == "'=HYPERLINK(\"x\",\"y\"),1" and len(back) == 1


def test_a_million_planned_episodes_stay_a_few_megabytes(plan):
    cells = [PlanCell(cell_id=f"libero:libero_spatial/{i}:nominal:0", probe_id="libero",
                      task_id=f"libero_spatial/{i}", axis="nominal", level=0,
                      episodes=EpisodeRange(count=50), seeds=SeedRule(rule="run_seed", run_seed=7))
             for i in range(20_000)]
    big = plan.model_copy(update={"cells": cells})
    assert big.planned_episodes == 1_000_000
    assert len(artifact_json(big).encode()) < 6_000_000
    frame = planned_episodes_frame(big)
    assert frame["episode_index"].tolist()[-3:] == [47, 48, 49] and (frame["seed"] == 7).all()


def test_arrow_values_build_the_arrays_pa_array_would():
    import numpy as np
    import pyarrow as pa

    from worldflux_nb.core.arrow_values import numbers, text, texts

    for values in (np.array([3, -1, 2**40], dtype=np.int64), np.array([7, 0], dtype=np.int32),
                   np.array([True, False, True] * 5, dtype=bool), np.array([], dtype=np.int64)):
        assert numbers(values).equals(pa.array(values))
    words = ["", "é", "x,y", "\"q\"", "日本"]
    assert texts(words).equals(pa.array(words, pa.large_string())) and len(texts([])) == 0
    assert text("null").as_py() == "null"


def test_the_run_sheet_command_imports_no_pandas(plan, tmp_path):
    """pyarrow imports pandas on its first value conversion; the run sheet builds its arrays without one."""
    import subprocess
    import sys

    from worldflux_nb.io.artifacts import artifact_json

    (tmp_path / "plan.json").write_text(artifact_json(plan), encoding="utf-8")
    code = ("import sys; from worldflux_nb.cli import main; "
            f"code = main(['eval-portfolio', 'render-run-sheet', '--plan', {str(tmp_path / 'plan.json')!r}, "
            f"'--output', {str(tmp_path / 'rs.md')!r}, '--run-sheet-json', {str(tmp_path / 'rs.json')!r}, "
            f"'--run-sheet-csv', {str(tmp_path / 'rs.csv')!r}]); "
            "print(code, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == ["0", "False"]
