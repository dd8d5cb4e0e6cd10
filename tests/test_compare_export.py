"""`notebook export` reads a comparison back out of an executed notebook, digest verified, as the CLI writes it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest

from compare_support import arm, small_plan
from test_compare import coin
from worldflux_nb.cli import main
from worldflux_nb.core.compare import build_comparison
from worldflux_nb.core.compare_design import with_comparisons
from worldflux_nb.io.notebook_export import COMPARISON_FILES, comparison_files
from worldflux_nb.models.comparison import Comparison
from worldflux_nb.models.digest import sha256_bytes

MEDIA = Comparison.media_type()


def comparison() -> Comparison:
    plan = with_comparisons(small_plan(episodes=20), [("base", "cand")])
    return build_comparison(plan, {"base": arm(plan, coin(40, 0.3)), "cand": arm(plan, coin(41, 0.7))})


def notebook_showing(*artifacts: object) -> nbformat.NotebookNode:
    """A notebook whose cells displayed these objects, as a kernel would have stored their bundles."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"shown_{i}", outputs=[nbformat.v4.new_output(
        "display_data", data=a._repr_mimebundle_())]) for i, a in enumerate(artifacts)]
    return nbformat.reads(nbformat.writes(nb), as_version=4)


def export(tmp_path: Path, nb: nbformat.NotebookNode) -> tuple[int, Path]:
    source = tmp_path / "in.ipynb"
    nbformat.write(nb, source)
    return main(["notebook", "export", str(source), "--output-dir", str(tmp_path / "export")]), tmp_path / "export"


def comparison_payloads(nb: nbformat.NotebookNode) -> list[dict]:
    return [o["data"][MEDIA] for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if MEDIA in o.get("data", {})]


def test_a_displayed_comparison_is_exported_with_its_manifest(tmp_path: Path) -> None:
    shown = comparison()
    code, folder = export(tmp_path, notebook_showing(shown))
    assert code == 0
    expected = comparison_files(shown)
    assert sorted(p.name for p in folder.iterdir()) == sorted([*COMPARISON_FILES, "artifact_manifest.json"])
    for name in COMPARISON_FILES:
        assert (folder / name).read_text(encoding="utf-8") == expected[name]
    assert json.loads((folder / "comparison.json").read_text())["comparison_digest"] == shown.comparison_digest
    manifest = json.loads((folder / "artifact_manifest.json").read_text(encoding="utf-8"))
    assert manifest["privacy"] == "LOCAL_PRIVATE" and manifest["public_share_ready"] is False
    for entry in manifest["files"]:
        assert entry["sha256"] == sha256_bytes((folder / entry["name"]).read_bytes())


def test_the_last_displayed_comparison_is_the_one_exported(tmp_path: Path) -> None:
    plan = small_plan(episodes=10)
    first = build_comparison(plan, {"base": arm(plan, coin(1, 0.5)), "cand": arm(plan, coin(2, 0.5))})
    last = comparison()
    nb = notebook_showing(first, last)
    for output in nb.cells[1].outputs:  # a front end may store the JSON as text
        output["data"][MEDIA] = json.dumps(output["data"][MEDIA])
    code, folder = export(tmp_path, nb)
    assert code == 0
    assert json.loads((folder / "comparison.json").read_text())["comparison_digest"] == last.comparison_digest


@pytest.mark.parametrize("tamper, field", [
    (lambda d: d["comparisons"][0].update(p_adjusted=0.0001), "comparison_digest"),  # a result made significant
    (lambda d: d["arms"].pop(), "arms"),  # the schema refuses it before the digest is checked
    (lambda d: d.update(comparison_digest="sha256:" + "0" * 64), "comparison_digest"),
    (lambda d: d.update(schema_version="worldflux_nb.eval_packet.v1"), "schema_version"),
])
def test_a_tampered_comparison_is_refused_and_nothing_written(tmp_path: Path, capsys, tamper, field) -> None:
    nb = notebook_showing(comparison())
    tamper(comparison_payloads(nb)[-1])
    code, folder = export(tmp_path, nb)
    err = capsys.readouterr().err
    assert code == 2 and not folder.exists()
    assert len(err.strip().splitlines()) == 1 and "in.ipynb" in err and field in err and MEDIA in err


def test_comparison_json_that_does_not_parse_is_refused(tmp_path: Path, capsys) -> None:
    nb = notebook_showing(comparison())
    nb.cells[0].outputs[0]["data"][MEDIA] = '{"schema_version": "worldflux_nb.comparison.v1",'
    code, folder = export(tmp_path, nb)
    assert code == 2 and not folder.exists()
    assert "in.ipynb (cell 0" in capsys.readouterr().err


def test_a_notebook_with_neither_packet_nor_comparison_is_refused(tmp_path: Path, capsys) -> None:
    code, folder = export(tmp_path, nbformat.v4.new_notebook())
    err = capsys.readouterr().err
    assert code == 2 and not folder.exists()
    assert "no eval packet output and no comparison output" in err and MEDIA in err


def test_a_comparison_next_to_a_packet_without_brief_is_refused_whole(tmp_path: Path, capsys) -> None:
    """All outputs or none: the comparison is not written when the packet beside it cannot be."""
    import display_samples as samples

    nb = notebook_showing(samples.packet(samples.plan()), comparison())
    code, folder = export(tmp_path, nb)
    assert code == 2 and not folder.exists()
    assert "no reviewer brief output" in capsys.readouterr().err


def comparison_and_plan(episodes: int) -> tuple[Comparison, object]:
    plan = with_comparisons(small_plan(episodes=episodes), [("base", "cand")])
    return build_comparison(plan, {"base": arm(plan, coin(40, 0.3)), "cand": arm(plan, coin(41, 0.7))}), plan


def test_a_comparison_shown_with_its_own_plan_is_exported(tmp_path: Path) -> None:
    shown, plan = comparison_and_plan(20)
    other_plan = small_plan(episodes=8)  # a notebook may display more than one plan
    code, folder = export(tmp_path, notebook_showing(other_plan, plan, shown))
    assert code == 0 and (folder / "comparison.json").exists()


def test_a_comparison_built_on_a_plan_the_notebook_does_not_show_is_refused(tmp_path: Path, capsys) -> None:
    shown, _ = comparison_and_plan(20)
    _, other_plan = comparison_and_plan(8)
    code, folder = export(tmp_path, notebook_showing(other_plan, shown))
    err = capsys.readouterr().err
    assert code == 2 and not folder.exists()
    assert len(err.strip().splitlines()) == 1 and "in.ipynb" in err and "comparison.plan_digest" in err
    assert shown.plan_digest in err and other_plan.plan_digest in err


def test_a_packet_built_on_a_plan_the_notebook_does_not_show_is_refused(tmp_path: Path, capsys) -> None:
    import display_samples as samples

    plan = samples.plan()
    packet = samples.packet(plan)
    code, folder = export(tmp_path, notebook_showing(samples.plan(tasks_per_probe=2), packet, samples.brief(packet)))
    err = capsys.readouterr().err
    assert code == 2 and not folder.exists()
    assert len(err.strip().splitlines()) == 1 and "eval_packet.plan_digest" in err


@pytest.mark.slow
def test_the_executed_compare_template_exports_what_it_wrote(tmp_path: Path, tmp_path_factory) -> None:
    from notebook_support import compare_template_run, differing

    run = compare_template_run(tmp_path_factory)
    out = tmp_path / "export"
    assert main(["notebook", "export", str(run / "compare_policies.ipynb"), "--output-dir", str(out)]) == 0
    assert differing(out, run, COMPARISON_FILES) == []  # byte for byte what the template wrote
    assert sorted(p.name for p in out.iterdir()) == sorted([*COMPARISON_FILES, "artifact_manifest.json"])


@pytest.mark.slow
def test_a_tampered_executed_compare_template_is_refused(tmp_path: Path, tmp_path_factory, capsys) -> None:
    from notebook_support import compare_template_run

    nb = copy.deepcopy(nbformat.read(compare_template_run(tmp_path_factory) / "compare_policies.ipynb",
                                     as_version=4))
    shown = comparison_payloads(nb)[-1]
    confirmatory = next(r for r in shown["comparisons"] if r["confirmatory"])
    confirmatory["p_adjusted"], confirmatory["p_value"] = 0.001, 0.001  # someone tidies the result
    code, folder = export(tmp_path, nb)
    err = capsys.readouterr().err
    assert code == 2 and not folder.exists()
    assert "comparison_digest" in err and "does not match the content" in err
