import io

import pandas as pd
import pytest

from worldflux_nb.core.planning import build_plan
from worldflux_nb.core.run_sheet import (
    RUN_SHEET_COLUMNS, planned_episodes_frame, run_sheet_csv, run_sheet_for,
)
from worldflux_nb.io.artifacts import artifact_from_json
from worldflux_nb.models.plan import PlanCell
from worldflux_nb.render.markdown import to_markdown
from worldflux_nb.render.plan_docs import run_sheet_document
from worldflux_nb.sample import reference_contract, reference_profile


@pytest.fixture()
def plan():
    return build_plan(reference_profile(), seed=1234, contracts=[reference_contract()])


def expected_rows(plan):
    return [(c.cell_id, c.probe_id, c.task_id, c.axis, c.level, i, s)
            for c in plan.cells for i, s in zip(c.episode_indexes, c.seeds)]


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
    google = reference_profile().model_copy(update={"simulator_family": "simpler",
                                                     "robot_model": "google-robot"}).sealed()
    frame = planned_episodes_frame(build_plan(google, seed=5))
    levels = set(frame["level"])
    assert 0 in levels and any(isinstance(v, str) for v in levels)


def test_frame_is_vectorised_at_a_million_episodes(plan):
    cells = [PlanCell(cell_id=f"custom:x:t{i}:nominal:0", probe_id="custom:x", task_id=f"t{i}",
                      axis="nominal", level=0, episode_indexes=list(range(1000)),
                      seeds=list(range(1000))) for i in range(1000)]
    big = plan.model_copy(update={"cells": cells})
    frame = planned_episodes_frame(big)
    assert len(frame) == 1_000_000 and frame["seed"].iloc[-1] == 999


def test_csv_round_trips_with_empty_seeds(plan):
    sheet = run_sheet_for(plan)
    text = run_sheet_csv(sheet)
    assert text.splitlines()[0] == ",".join(RUN_SHEET_COLUMNS)
    back = pd.read_csv(io.StringIO(text), dtype={"seed": "Int64", "level": str})
    assert len(back) == plan.planned_episodes
    libero = back[back["probe_id"] == "libero"]
    assert libero["seed"].isna().all()
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
