"""Repository notebooks are committed without outputs, what they write is git-ignored, Binder's
configuration says what works, and no file outside the tests' hostile fixtures names a machine's path."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from notebook_support import REPO
from worldflux_nb.io.notebook_runner import read_notebook

NOTEBOOKS = sorted([*(REPO / "notebooks").glob("*.ipynb"), *(REPO / "templates").glob("*.ipynb")])
# The folders the repository's notebooks write into when run where they are.
OUTPUT_FOLDERS = ["templates/profile_to_brief-output/packet.json", "notebooks/exploration_output/x.json",
                  "notebooks/quick_start_output/packet.json", "notebooks/contract_walkthrough/contract.json",
                  "test-artifacts/shot.png"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs_or_widget_state(path):
    nb = read_notebook(path)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, path.name
    assert "widgets" not in nb.metadata, path.name


@pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(), reason="not a git checkout")
def test_what_the_notebooks_write_is_git_ignored():
    result = subprocess.run(["git", "check-ignore", "--no-index", *OUTPUT_FOLDERS], cwd=REPO,
                            capture_output=True, text=True)
    assert sorted(result.stdout.split()) == sorted(OUTPUT_FOLDERS)


def test_binder_opens_the_template_and_installs_the_explorers_runtime():
    readme = (REPO / "binder" / "README.md").read_text(encoding="utf-8")
    # `jupyter lab` overrides ServerApp.default_url with its own; LabApp.default_url is the one it keeps.
    assert "--LabApp.default_url=/lab/tree/templates/profile_to_brief.ipynb" in readme
    assert "ServerApp.default_url" not in readme
    requirements = (REPO / "binder" / "requirements.txt").read_text(encoding="utf-8")
    assert "anywidget" in requirements and "jupyterlab" in requirements
    post_build = (REPO / "binder" / "postBuild").read_text(encoding="utf-8")
    assert 'cd "${TMPDIR:-/tmp}"' in post_build and "site-packages" in post_build


# A user's or this machine's absolute folder; the tests' own files may hold such paths as hostile input
# (redaction must meet them), nothing the package ships or the docs show may.
MACHINE_PATH = re.compile(r"(?<![\w.])(?:/(?:home|Users|root|work)/[\w.-]+|[A-Za-z]:\\\\?Users\\\\?[\w.-]+)")


@pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(), reason="not a git checkout")
def test_no_machine_path_outside_the_tests():
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True).stdout
    found = []
    for name in filter(None, tracked.split("\0")):
        path = REPO / name
        if name.startswith("tests/") or not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        found += [f"{name}: {m.group(0)}" for m in MACHINE_PATH.finditer(text)]
    assert found == []
