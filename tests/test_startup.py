"""What a command line process imports before doing its work: only what its command needs.

Each command runs in a fresh interpreter here, and the modules it loaded are read from `sys.modules`,
so an import that pulls in a heavy module again (scipy.stats, a comparison's models, detect-secrets
and the `requests` it imports) fails a test instead of silently costing every run.
"""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Never needed by `audit import jsonl` or `eval-portfolio packet`.
NEVER = ("detect_secrets", "requests", "scipy.stats", "statsmodels", "altair", "ipywidgets", "nbformat",
         "worldflux_nb.models.comparison", "worldflux_nb.core.compare", "worldflux_nb.cli.notebook",
         "worldflux_nb.cli.profile")
# Not needed to import evidence (the packet needs them). pandas: the importer builds its literal Arrow
# arrays from buffers (models/arrow_build.py), since pyarrow's conversion of Python values imports it.
NOT_FOR_IMPORT = ("scipy", "pandas", "worldflux_nb.core.packet", "worldflux_nb.core.conformance",
                  "worldflux_nb.render.markdown", "worldflux_nb.cli.portfolio")
# Not needed to build a packet from audit inputs.
NOT_FOR_PACKET = ("worldflux_nb.cli.audit", "worldflux_nb.core.importers", "duckdb", "pyarrow.dataset")


def loaded_by(argv: list[str], watched: tuple[str, ...]) -> list[str]:
    """Which of `watched` a fresh interpreter has in sys.modules after running the command."""
    probe = ("import json, sys\nfrom worldflux_nb.cli import main\n"
             f"code = main({argv!r})\n"
             f"print(json.dumps([code, sorted(m for m in {watched!r} if m in sys.modules)]))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    code, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert code == 0, out.stderr
    return loaded


def test_the_import_command_loads_neither_the_packet_nor_redaction_libraries(reference_flow, tmp_path):
    probe = reference_flow.probes[0]
    argv = ["audit", "import", "jsonl", str(reference_flow.evidence(probe)), "--plan", str(reference_flow.plan),
            "--probe", probe, "--output", str(tmp_path / "audit.parquet")]
    # pyarrow is watched too, to show the probe sees what a command does load.
    assert loaded_by(argv, NEVER + NOT_FOR_IMPORT + ("pyarrow",)) == ["pyarrow"]
    assert (tmp_path / "audit.parquet").exists()


def test_a_small_jsonl_file_is_imported_without_duckdb(reference_flow, tmp_path):
    """Below `SMALL_JSONL_BYTES` the row-by-row reader is quicker than DuckDB's start: it is not loaded."""
    from worldflux_nb.io.evidence_files import SMALL_JSONL_BYTES

    probe = reference_flow.probes[0]
    assert reference_flow.evidence(probe).stat().st_size <= SMALL_JSONL_BYTES
    argv = ["audit", "import", "jsonl", str(reference_flow.evidence(probe)), "--plan", str(reference_flow.plan),
            "--probe", probe, "--output", str(tmp_path / "audit.parquet")]
    assert loaded_by(argv, ("duckdb", "pandas", "pyarrow")) == ["pyarrow"]


def test_the_packet_command_loads_no_importer_nor_comparison(reference_flow, tmp_path):
    # Nor scipy: no detector's p-value comes near its threshold here, so core/exact_tests.py's screen
    # settles every test without Boost's kernels.
    argv = ["eval-portfolio", "packet", "--plan", str(reference_flow.plan), *map(str, reference_flow.audit_args()),
            "--output", str(tmp_path / "packet.md"), "--packet-json", str(tmp_path / "packet.json")]
    assert loaded_by(argv, NEVER + NOT_FOR_PACKET + ("worldflux_nb.core.packet", "scipy")) == ["worldflux_nb.core.packet"]
    assert (tmp_path / "packet.json").read_bytes() == reference_flow.packet.read_bytes()


def test_importing_every_model_builds_no_artifact_validator():
    """Schemas are deferred to first use (`defer_build`): importing every model builds none of them."""
    code = ("import json\nfrom worldflux_nb.models import ARTIFACT_KINDS\n"
            "print(json.dumps(sorted(v for v, cls in ARTIFACT_KINDS.items() if cls.__pydantic_complete__)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(out.stdout) == []


def test_the_detect_secrets_snapshot_is_what_the_installed_detect_secrets_gives():
    script = runpy.run_path(str(ROOT / "scripts" / "snapshot_detect_secrets.py"))
    written = (ROOT / "worldflux_nb" / "models" / "redaction_detect_secrets.py").read_text(encoding="utf-8")
    assert written == script["module_text"](), "run scripts/snapshot_detect_secrets.py after upgrading detect-secrets"


@pytest.mark.parametrize("argv", [[], ["audit"], ["eval-portfolio"]])
def test_a_missing_command_still_lists_every_command(argv, capsys):
    from worldflux_nb.cli import COMMAND_MODULES, main

    assert main(argv) == 2
    listed = capsys.readouterr().err
    assert all(f"    {name}" in listed for name in COMMAND_MODULES), listed


def test_every_artifact_kind_is_found_by_its_schema_version():
    from worldflux_nb.models import ARTIFACT_CLASSES, ARTIFACT_KINDS, artifact_class

    assert {version: cls.schema_id() for version, cls in ARTIFACT_KINDS.items()} == {v: v for v in ARTIFACT_CLASSES}
    assert all(artifact_class(version) is cls for version, cls in ARTIFACT_KINDS.items())
    assert artifact_class("worldflux_nb.nothing.v1") is None


def test_the_version_is_the_installed_distributions():
    from importlib.metadata import version

    import worldflux_nb

    assert worldflux_nb.__version__ == version("worldflux-nb")
    out = subprocess.run([sys.executable, "-c", "from worldflux_nb.cli import main; main(['--version'])"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.stdout == f"worldflux-nb {worldflux_nb.__version__}\n"


@pytest.mark.parametrize("name", ["load", "packet", "EvalPacket", "compare", "__version__"])
def test_the_package_still_offers_its_public_names(name):
    import worldflux_nb

    assert name in worldflux_nb.__all__ and name in dir(worldflux_nb)
    assert getattr(worldflux_nb, name) is not None
    with pytest.raises(AttributeError):
        worldflux_nb.no_such_name  # noqa: B018


def test_notebook_commands_import_jsonschema_without_compiling_the_iri_grammar():
    """The command line's notebook commands import jsonschema without rfc3987-syntax's grammar (~1.4 s,
    installed with JupyterLab); the package stays importable afterwards, and nbformat validates as before."""
    code = ("import importlib.util, json, sys\n"
            "from worldflux_nb.cli.notebook import import_jsonschema_without_iri_grammar as light\n"
            "light()\n"
            "loaded = ['jsonschema' in sys.modules, 'rfc3987_syntax' in sys.modules]\n"
            "import nbformat\n"
            "nbformat.validate(nbformat.v4.new_notebook())\n"
            "installed = importlib.util.find_spec('rfc3987_syntax') is not None\n"
            "if installed:\n"
            "    import rfc3987_syntax\n"
            "print(json.dumps(loaded + [installed, 'rfc3987_syntax' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    jsonschema_loaded, grammar_loaded, installed, importable = json.loads(out.stdout)
    assert jsonschema_loaded and not grammar_loaded
    assert importable == installed
