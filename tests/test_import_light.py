"""Importing the package, its models and its documents never loads charts or widgets."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("altair", "vl_convert", "ipywidgets", "anywidget")


def imported_heavy(code: str) -> list[str]:
    probe = f"{code}\nimport sys\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    return ast.literal_eval(out.stdout.strip().splitlines()[-1])


def test_import_worldflux_nb_is_light():
    assert imported_heavy("import worldflux_nb") == []


def test_displaying_an_artifact_as_text_and_html_is_still_light():
    code = ("import worldflux_nb, worldflux_nb.render.display, worldflux_nb.render.conformance_view\n"
            "from worldflux_nb.models import EvalProfile\n"
            "import worldflux_nb.render.charts  # the module itself defers altair to drawing time\n")
    assert imported_heavy(code) == []


def test_drawing_a_chart_loads_altair_only_then():
    code = ("import sys; sys.path.insert(0, 'tests')\nimport display_samples as s\n"
            "from worldflux_nb.render.charts import power_chart\npower_chart(s.packet(s.plan()))._repr_mimebundle_()")
    loaded = set(imported_heavy(code))
    # Altair itself imports anywidget (and so ipywidgets) when the optional package is installed.
    assert {"altair", "vl_convert"} <= loaded <= {"altair", "vl_convert", "anywidget", "ipywidgets"}
