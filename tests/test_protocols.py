"""Plans a harness can follow: standard vs sampled protocols, LIBERO initial states 0..n-1, and
LIBERO-plus variants taken from the benchmark's own task classification (a synthetic fixture)."""

import json
from collections import Counter

import pytest

from conftest import LIBERO_PLUS_FIXTURE, cell_episodes, libero_plus_fixture
from worldflux_nb.cli import main
from worldflux_nb.core.libero_plus import parse_classification
from worldflux_nb.core.planning import NO_CLASSIFICATION, build_plan
from worldflux_nb.core.registry import LIBERO_SUITES, builtin_registry
from worldflux_nb.errors import InputError
from worldflux_nb.io.artifacts import artifact_json
from worldflux_nb.sample import reference_contract, reference_profile

FIXTURE = json.loads(LIBERO_PLUS_FIXTURE.read_text())


def plan_for(protocol="sampled", seed=1234, classification=True, **options):
    return build_plan(reference_profile(), seed=seed, contracts=[reference_contract()],
                      protocol=protocol, created_at="2026-01-01T00:00:00Z",
                      libero_plus_classification=libero_plus_fixture() if classification else None,
                      **options)


@pytest.mark.parametrize("protocol", ["sampled", "standard"])
def test_libero_family_episodes_are_initial_states_from_zero(protocol):
    plan = plan_for(protocol)
    for cell in plan.cells:
        probe = plan.probe(cell.probe_id)
        if probe.seed_mode != "initial_state_index":
            continue
        pairs = cell_episodes(cell)
        assert [i for i, _ in pairs] == list(range(len(pairs)))  # 0..n-1, never a sample
        assert {s for _, s in pairs} == {probe.run_seed}       # the one seed the harness is given


def test_standard_protocol_plans_whole_suites_at_fifty_initial_states():
    plan = plan_for("standard")
    assert plan.protocol == "standard"
    libero = [c for c in plan.cells if c.probe_id == "libero"]
    assert sorted(c.task_id for c in libero) == sorted(
        f"{suite}/{i}" for suite in LIBERO_SUITES for i in range(10))
    assert {c.episode_count for c in libero} == {50}
    pro = [c for c in plan.cells if c.probe_id == "libero-pro"]
    assert len(pro) == 40 * len(plan.probe("libero-pro").axes) and {c.episode_count for c in pro} == {50}
    # Custom contracts have no community protocol: their own episodes per task.
    custom = [c for c in plan.cells if c.probe_id.startswith("custom:")]
    assert {c.episode_count for c in custom} == {reference_contract().episodes_per_task or plan.episodes_per_cell}


def test_sampled_protocol_draws_tasks_by_seed_and_keeps_initial_states():
    one, other = plan_for("sampled", seed=1234), plan_for("sampled", seed=99)
    tasks = lambda p: [c.task_id for c in p.cells if c.probe_id == "libero"]  # noqa: E731
    assert len(tasks(one)) == 2 * len(LIBERO_SUITES) and tasks(one) != tasks(other)
    assert {c.episode_count for c in one.cells if c.probe_id == "libero"} == {one.episodes_per_cell}
    assert one.protocol == "sampled"


def test_same_inputs_give_the_same_bytes():
    for protocol in ("sampled", "standard"):
        assert artifact_json(plan_for(protocol)) == artifact_json(plan_for(protocol))
    assert plan_for("sampled").plan_digest != plan_for("standard").plan_digest


def test_libero_plus_variants_come_from_the_classification():
    plan = plan_for("standard")
    probe = plan.probe("libero-plus")
    cells = [c for c in plan.cells if c.probe_id == "libero-plus"]
    expected = {(f"{suite}/{e['id'] - 1}", e["category"].lower().replace(" ", "_"),
                 "unrated" if e["difficulty_level"] is None else e["difficulty_level"])
                for suite, entries in FIXTURE.items() for e in entries}
    assert {(c.task_id, c.axis, c.level) for c in cells} == expected
    assert {c.episode_count for c in cells} == {1}  # one trial per variant, its own protocol
    assert all(cell_episodes(c) == [(0, probe.run_seed)] for c in cells)
    assert probe.classification_digest == libero_plus_fixture().digest
    assert len(probe.tasks) == sum(len(v) for v in FIXTURE.values())


def test_sampled_libero_plus_plans_whole_category_level_groups():
    """Harnesses filter LIBERO-plus by suite, category and level: a sampled plan takes whole groups."""
    plan = plan_for("sampled")
    cells = [c for c in plan.cells if c.probe_id == "libero-plus"]
    suites = {c.task_id.split("/")[0] for c in cells}
    assert len(suites) == 1
    (suite,) = suites
    groups = Counter((c.axis, c.level) for c in cells)
    for (axis, level), count in groups.items():
        in_file = [e for e in FIXTURE[suite] if e["category"].lower().replace(" ", "_") == axis
                   and e["difficulty_level"] == level]
        assert count == len(in_file) > 0
    assert all(isinstance(level, int) for _, level in groups)  # unrated variants are never drawn
    assert {a for a, _ in groups} <= {a.axis for a in builtin_registry().probes[1].axes}


def test_without_the_classification_the_plan_says_what_it_cannot_do():
    plan = plan_for(classification=False)
    assert "libero-plus" not in [p.probe_id for p in plan.selected_probes]
    (excluded,) = [p for p in plan.excluded_probes if p.probe_id == "libero-plus"]
    assert excluded.reasons == [NO_CLASSIFICATION] and "--libero-plus-classification" in NO_CLASSIFICATION


def test_libero_plus_axes_the_profile_cannot_run_are_left_out():
    profile = reference_profile().model_copy(update={"language_input": False}).sealed()
    plan = build_plan(profile, seed=3, protocol="standard", libero_plus_classification=libero_plus_fixture())
    axes = {c.axis for c in plan.cells if c.probe_id == "libero-plus"}
    assert "language_instructions" not in axes and "camera_viewpoints" in axes


@pytest.mark.parametrize("change, field", [
    (lambda d: d.update(libero_90=d["libero_goal"]), "libero_90"),
    (lambda d: d["libero_goal"].append(dict(d["libero_goal"][0])), "libero_goal[84].id"),
    (lambda d: d["libero_goal"][3].update(category="Camera Views"), "libero_goal[3].category"),
    (lambda d: d["libero_goal"][3].update(difficulty_level=6), "libero_goal[3].difficulty_level"),
    (lambda d: d["libero_goal"][3].update(difficulty_level=True), "libero_goal[3].difficulty_level"),
    (lambda d: d["libero_goal"][3].update(id=0), "libero_goal[3].id"),
    (lambda d: d["libero_goal"][3].pop("name"), "libero_goal[3].name"),
    (lambda d: d.update(libero_goal=[]), "libero_goal"),
])
def test_a_bad_classification_is_refused_naming_the_field(change, field):
    data = json.loads(LIBERO_PLUS_FIXTURE.read_text())
    change(data)
    with pytest.raises(InputError) as err:
        parse_classification(data, "task_classification.json")
    assert err.value.field == field and err.value.source == "task_classification.json"


def test_plan_command_takes_the_protocol_and_the_classification(tmp_path, capsys):
    profile = tmp_path / "profile.json"
    profile.write_text(artifact_json(reference_profile().sealed()))
    out = tmp_path / "plan.json"
    assert main(["eval-portfolio", "plan", "--profile", str(profile), "--seed", "7", "--protocol",
                 "standard", "--libero-plus-classification", str(LIBERO_PLUS_FIXTURE),
                 "--output", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["protocol"] == "standard"
    assert any(c["probe_id"] == "libero-plus" for c in data["cells"])
    bad = tmp_path / "classification.json"
    bad.write_text(json.dumps({"libero_goal": [{"id": 1, "name": "x", "category": "Nope",
                                                "difficulty_level": 1}]}))
    assert main(["eval-portfolio", "plan", "--profile", str(profile), "--seed", "7",
                 "--libero-plus-classification", str(bad), "--output", str(tmp_path / "p2.json")]) == 2
    assert "libero_goal[0].category" in capsys.readouterr().err
    assert not (tmp_path / "p2.json").exists()
