"""Dependencies point one way: models and core never import the presentation layer (render), not even
inside a function; display is attached to the models by render itself (render/registration.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "worldflux_nb"
LOWER_LAYERS = ("models", "core")


def imported_modules(path: Path) -> list[str]:
    """Every module an import statement in the file names, at any depth, resolved to absolute names."""
    package = ".".join(("worldflux_nb",) + path.relative_to(PACKAGE).parent.parts)
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names += [base] + [f"{base}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            names.append(str(node.args[0].value))
    return names


def presentation_imports(path: Path) -> list[str]:
    return [n for n in imported_modules(path)
            if n == "worldflux_nb.render" or n.startswith("worldflux_nb.render.")
            or n.split(".")[0] in ("altair", "vl_convert", "ipywidgets", "anywidget", "IPython")]


@pytest.mark.parametrize("layer", LOWER_LAYERS)
def test_lower_layers_never_import_presentation(layer):
    offenders = {str(p.relative_to(PACKAGE)): presentation_imports(p)
                 for p in sorted((PACKAGE / layer).rglob("*.py")) if presentation_imports(p)}
    assert offenders == {}


def test_the_scan_sees_imports_inside_functions_and_relative_ones(tmp_path, monkeypatch):
    module = PACKAGE / "models" / "common.py"
    source = ("def f():\n    from worldflux_nb.render.display import mimebundle\n"
              "def g():\n    from ..render import charts\n"
              "import importlib\nimportlib.import_module('worldflux_nb.render.explorer')\n")
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: source)
    found = presentation_imports(module)
    assert "worldflux_nb.render.display" in found
    assert "worldflux_nb.render.charts" in found
    assert "worldflux_nb.render.explorer" in found


def test_models_still_display_and_explore_once_the_package_is_imported():
    import worldflux_nb  # noqa: F401  (registers display)
    from worldflux_nb.models import EvalPacket
    from worldflux_nb.models.common import Artifact

    assert callable(getattr(Artifact, "_repr_mimebundle_"))
    assert callable(getattr(EvalPacket, "explore"))
