"""`eval-portfolio compare` and the plan's declared comparisons: fields, exit codes, all or none."""

from __future__ import annotations

import json
import random

import pytest

from compare_support import arm, small_plan
from conftest import REFERENCE_PROFILE_ARGS
from worldflux_nb.cli import main
from worldflux_nb.core.compare_design import with_comparisons
from worldflux_nb.io.artifacts import artifact_json, load
from worldflux_nb.models.comparison import Comparison

COMPARISON_FIELDS = {"scope", "baseline", "candidate", "baseline_successes", "baseline_denominator",
                     "candidate_successes", "candidate_denominator", "difference", "ci_low", "ci_high",
                     "paired", "pairs", "discordant_baseline_only", "discordant_candidate_only", "test",
                     "p_value", "p_adjusted", "confirmatory", "probability_of_improvement"}


def coin(seed, rate):
    g = random.Random(seed)
    table = {}
    return lambda cell, i: table.setdefault((cell, i), g.random() < rate)


@pytest.fixture()
def files(tmp_path):
    plan = with_comparisons(small_plan(), [("base", "cand")])
    (tmp_path / "plan.json").write_text(artifact_json(plan))
    paths = {}
    for name, outcome in (("base", coin(1, 0.4)), ("cand", coin(2, 0.8))):
        for audit in arm(plan, outcome, {"alpha": []} if name == "base" else None):
            path = tmp_path / f"{name}_{audit.probe_id}.json"
            path.write_text(artifact_json(audit))
            paths.setdefault(name, []).append(f"{audit.probe_id}={path}")
    return tmp_path, paths


def compare(folder, *extra):
    return main(["eval-portfolio", "compare", "--plan", str(folder / "plan.json"), *map(str, extra)])


def test_compare_writes_every_field(files, capsys):
    folder, paths = files
    out = [folder / "comparison.md", folder / "comparison.json", folder / "brief.md"]
    assert compare(folder, "--arm", "base", *paths["base"], "--arm", "cand", *paths["cand"],
                   "--output", out[0], "--comparison-json", out[1], "--brief", out[2]) == 0
    data = json.loads(out[1].read_text())
    assert data["schema_version"] == "worldflux_nb.comparison.v1" and data["privacy"] == "LOCAL_PRIVATE"
    assert data["baseline"] == "base" and [a["name"] for a in data["arms"]] == ["base", "cand"]
    assert data["plan_digest"] == load(folder / "plan.json").plan_digest
    assert all(COMPARISON_FIELDS <= set(r) for r in data["comparisons"])
    assert "asymmetries" in data
    assert isinstance(load(out[1]), Comparison)
    confirmatory = [r for r in data["comparisons"] if r["confirmatory"]]
    assert [r["scope"] for r in confirmatory] == ["all"]
    assert "CONFIRMATORY" in out[0].read_text() and "exploratory" in out[0].read_text()
    assert "NOT public-share-ready" in out[2].read_text()


def test_baseline_flag_turns_the_pair_round(files):
    folder, paths = files
    assert compare(folder, "--arm", "cand", *paths["cand"], "--arm", "base", *paths["base"], "--baseline", "base",
                   "--output", folder / "c.md", "--comparison-json", folder / "c.json") == 0
    data = json.loads((folder / "c.json").read_text())
    assert data["baseline"] == "base"
    assert {(r["baseline"], r["candidate"]) for r in data["comparisons"]} == {("base", "cand")}


@pytest.mark.parametrize("case", ["one_arm", "same_file_twice", "unknown_baseline", "output_is_input",
                                  "no_inputs", "bad_probe", "same_output", "bad_name", "secret_name"])
def test_bad_input_exits_2_and_writes_nothing(files, case, capsys):
    folder, paths = files
    base, cand = paths["base"], paths["cand"]
    out = ["--output", folder / "c.md", "--comparison-json", folder / "c.json"]
    args = {
        "one_arm": ["--arm", "base", *base, *out],
        "same_file_twice": ["--arm", "base", *base, "--arm", "cand", base[0], *cand[1:], *out],
        "unknown_baseline": ["--arm", "base", *base, "--arm", "cand", *cand, "--baseline", "x", *out],
        "output_is_input": ["--arm", "base", *base, "--arm", "cand", *cand, "--output", folder / "c.md",
                            "--comparison-json", base[0].partition("=")[2]],
        "no_inputs": ["--arm", "base", "--arm", "cand", *cand, *out],
        "bad_probe": ["--arm", "base", *base, "--arm", "cand", "gamma=" + cand[0].partition("=")[2], *out],
        "same_output": ["--arm", "base", *base, "--arm", "cand", *cand, "--output", folder / "c.md",
                        "--comparison-json", folder / "c.md"],
        "bad_name": ["--arm", "alpha=x", *base, "--arm", "cand", *cand, *out],
        "secret_name": ["--arm", "sk-" + "A1b2" * 10, *base, "--arm", "cand", *cand, *out],
    }[case]
    before = sorted(p.name for p in folder.iterdir())
    before_bytes = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert compare(folder, *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in folder.iterdir()) == before
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before_bytes


def _plan_args(tmp_path, *extra):
    main(["eval-profile", "create", *REFERENCE_PROFILE_ARGS, "--output", str(tmp_path / "profile.json")])
    return ["eval-portfolio", "plan", "--profile", str(tmp_path / "profile.json"), "--seed", "5",
            "--episodes-per-cell", "10", "--output", str(tmp_path / "plan.json"), *extra]


def test_plan_declares_comparisons_before_any_score(tmp_path):
    assert main(_plan_args(tmp_path, "--compare", "base", "cand", "--compare", "base", "cand2", "--alpha", "0.01",
                           "--multiplicity", "fdr_bh", "--primary-scope", "probe:libero",
                           "--detect-difference", "0.3", "--sequential-looks", "3")) == 0
    design = load(tmp_path / "plan.json").comparison_design
    assert [(d.baseline, d.candidate) for d in design.declared] == [("base", "cand"), ("base", "cand2")]
    assert (design.alpha, design.multiplicity, design.primary_scopes) == (0.01, "fdr_bh", ["probe:libero"])
    assert design.power.difference == 0.3 and design.power.episodes_per_cell_needed > 10
    assert design.sequential.looks == 3 and design.sequential.look_episodes[-1] == load(tmp_path / "plan.json").planned_episodes


def test_plan_without_comparisons_keeps_its_json(tmp_path):
    assert main(_plan_args(tmp_path)) == 0
    assert "comparison_design" not in json.loads((tmp_path / "plan.json").read_text())


@pytest.mark.parametrize("extra, flag", [
    (["--compare", "a", "a"], "--compare"), (["--compare", "a", "b", "--alpha", "1.5"], "--alpha"),
    (["--compare", "a", "b", "--primary-scope", "probe:nope"], "--primary-scope"),
    (["--sequential-looks", "3"], "--compare"),
    (["--compare", "a", "b", "--sequential-max-episodes", "999999"], "--sequential-max-episodes"),
    (["--compare", "a", "b", "--detect-difference", "0.9"], "--detect-difference"),
    (["--compare", "ghp_" + "a" * 36, "b"], "--compare"), (["--compare", "a b", "c"], "--compare"),
])
def test_bad_comparison_options_exit_2(tmp_path, capsys, extra, flag):
    assert main(_plan_args(tmp_path, *extra)) == 2
    assert flag in capsys.readouterr().err
    assert not (tmp_path / "plan.json").exists()


def test_render_plan_shows_the_declared_comparisons(tmp_path):
    assert main(_plan_args(tmp_path, "--compare", "base", "cand", "--sequential-looks", "2")) == 0
    assert main(["eval-portfolio", "render-plan", "--plan", str(tmp_path / "plan.json"),
                 "--output", str(tmp_path / "plan.md")]) == 0
    text = (tmp_path / "plan.md").read_text()
    assert "Declared comparisons" in text and "cand vs base" in text and "2 looks" in text


def test_the_row_limit_is_the_packets_and_its_flag_raises_it(files, capsys):
    """An arm's audit input over `--max-evidence-rows` is refused naming that flag, which compare takes
    as the packet does (its message named a flag compare did not have); raised, the comparison is made."""
    folder, paths = files
    rows = max(len(load(pair.partition("=")[2]).episodes) for pairs in paths.values() for pair in pairs)
    argv = ["--arm", "base", *paths["base"], "--arm", "cand", *paths["cand"], "--output", folder / "c.md",
            "--comparison-json", folder / "c.json"]
    assert compare(folder, *argv, "--max-evidence-rows", rows - 1) == 2
    assert f"over the limit of {rows - 1:,}; raise it with --max-evidence-rows" in capsys.readouterr().err
    assert not (folder / "c.json").exists()
    assert compare(folder, *argv, "--max-evidence-rows", rows) == 0

