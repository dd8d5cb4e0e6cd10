"""A notebook's papermill-style parameters: what it declares (names, defaults, types) and a checked
injected-parameters cell.

A parameter's type is its annotation in the cell tagged `parameters` (`seed: Optional[int] = None`,
`policy: Literal["a", "b"] = "a"`), else papermill's own `# type: T` comment convention, else the
type of its default; the runner refuses a value of another type, naming the parameter, before any
kernel starts.
"""

from __future__ import annotations

import ast
import json
import math
from typing import Any, Callable, Mapping

import nbformat
from nbformat import NotebookNode

from worldflux_nb.errors import InputError

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"

# A check returns None when the value fits, else what the value must be.
Check = Callable[[Any], "str | None"]


def parse_cli_value(text: str, name: str = "VALUE") -> Any:
    """Papermill's reading of `-p NAME VALUE`: None/True/False, numbers, JSON lists and objects, else
    text; a number that is not finite (nan, inf, 1e999) is refused rather than passed on."""
    if text in ("None", "True", "False"):
        return {"None": None, "True": True, "False": False}[text]
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(None, f"-p {name}", f"{text!r} is not a finite number")
        return value
    if text[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return text


def cli_parameters(nb: NotebookNode, pairs: list[tuple[str, str]] | list[list[str]]) -> dict[str, Any]:
    """`-p NAME VALUE` pairs read as papermill does, except that a parameter declared as text keeps
    the text as typed (`-p profile 12` is the file `12`, not the number)."""
    types = declared_types(nb)
    values: dict[str, Any] = {}
    for name, text in pairs:
        value = parse_cli_value(text, name)
        check = types.get(name)
        if check is not None and check(value) is not None and check(text) is None:
            value = text
        values[name] = value
    return values


def parameters_cell_index(nb: NotebookNode) -> int | None:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            return index
    return None


def _parameter_nodes(nb: NotebookNode) -> list[tuple[str, ast.Assign | ast.AnnAssign, str]]:
    """(name, assignment, its source line) for each name the parameters cell assigns, in order."""
    index = parameters_cell_index(nb)
    if index is None:
        return []
    source = nb.cells[index].source
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    lines = source.splitlines()
    found: list[tuple[str, ast.Assign | ast.AnnAssign, str]] = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        line = lines[node.end_lineno - 1] if node.end_lineno else ""
        found += [(t.id, node, line) for t in targets if isinstance(t, ast.Name)]
    return found


def declared_parameters(nb: NotebookNode) -> list[str]:
    """Names assigned in the cell tagged `parameters`, in order."""
    names: list[str] = []
    for name, _, _ in _parameter_nodes(nb):
        if name not in names:
            names.append(name)
    return names


def declared_defaults(nb: NotebookNode) -> dict[str, Any]:
    """The literal default of each parameter (a value that is not a literal is left out)."""
    defaults: dict[str, Any] = {}
    for name, node, _ in _parameter_nodes(nb):
        if node.value is None:
            continue
        try:
            defaults[name] = ast.literal_eval(node.value)
        except ValueError:
            continue
    return defaults


def declared_types(nb: NotebookNode) -> dict[str, Check]:
    """Each parameter's check: its annotation, else a `# type: T` comment, else its default's type."""
    checks: dict[str, Check] = {}
    defaults = declared_defaults(nb)
    for name, node, line in _parameter_nodes(nb):
        annotation = node.annotation if isinstance(node, ast.AnnAssign) else _type_comment(line)
        check = _check_for(annotation) if annotation is not None else None
        if check is None and defaults.get(name) is not None:
            check = _check_for(ast.Name(id=type(defaults[name]).__name__))
        if check is not None:
            checks[name] = check
    return checks


def _type_comment(line: str) -> ast.expr | None:
    """papermill's `name = value  # type: T help` convention (T has no spaces)."""
    _, hash_, comment = line.partition("#")
    comment = comment.strip()
    if not hash_ or not comment.startswith("type:"):
        return None
    text = comment[len("type:"):].split(None, 1)
    try:
        return ast.parse(text[0], mode="eval").body if text else None
    except SyntaxError:
        return None


_SCALARS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "float": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
              and math.isfinite(v), "a finite number"),
    "str": (lambda v: isinstance(v, str), "text"),
    "bool": (lambda v: isinstance(v, bool), "True or False"),
    "None": (lambda v: v is None, "None"),
    "NoneType": (lambda v: v is None, "None"),
    "list": (lambda v: isinstance(v, list), "a list"),
    "dict": (lambda v: isinstance(v, dict), "a mapping"),
}


def _check_for(annotation: ast.expr) -> Check | None:
    """A check for a type written as an annotation; None for a type it does not know (not checked)."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:  # a string annotation: "int | None"
            return _check_for(ast.parse(annotation.value, mode="eval").body)
        except SyntaxError:
            return None
    if isinstance(annotation, ast.Constant) and annotation.value is None:
        return _scalar("None")
    if isinstance(annotation, (ast.Name, ast.Attribute)):
        return _scalar(annotation.id if isinstance(annotation, ast.Name) else annotation.attr)
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _either([_check_for(annotation.left), _check_for(annotation.right)])
    if isinstance(annotation, ast.Subscript):
        head = annotation.value
        head_name = head.id if isinstance(head, ast.Name) else getattr(head, "attr", "")
        args = list(annotation.slice.elts) if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
        if head_name == "Optional":
            return _either([_check_for(args[0]), _scalar("None")])
        if head_name == "Union":
            return _either([_check_for(a) for a in args])
        if head_name == "Literal":
            try:
                choices = [ast.literal_eval(a) for a in args]
            except ValueError:
                return None
            shown = ", ".join(repr(c) for c in choices)
            return lambda v: None if any(v == c and type(v) is type(c) for c in choices) else f"one of {shown}"
        if head_name in ("list", "List"):
            return _list_of(_check_for(args[0]))
        if head_name in ("dict", "Dict"):
            return _scalar("dict")
    return None


def _scalar(name: str) -> Check | None:
    if name not in _SCALARS:
        return None
    test, wanted = _SCALARS[name]
    return lambda v: None if test(v) else wanted


def _either(checks: list[Check | None]) -> Check | None:
    if any(c is None for c in checks):
        return None  # one alternative is a type we do not check: the whole union is unchecked
    known = [c for c in checks if c is not None]

    def check(value: Any) -> str | None:
        problems = [c(value) for c in known]
        return None if None in problems else " or ".join(p for p in problems if p)
    return check


def _list_of(item: Check | None) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, list):
            return "a list"
        if item is not None:
            for i, element in enumerate(value):
                problem = item(element)
                if problem:
                    return f"a list whose items are {problem} (item {i} is not)"
        return None
    return check


def contains_secret_value(value: Any) -> bool:
    """Whether a parameter value (text, or text inside a list or mapping) holds a secret shape."""
    from worldflux_nb.models.redaction import is_secret_kind, redact_text

    if isinstance(value, dict):
        return any(contains_secret_value(k) or contains_secret_value(v) for k, v in value.items()) or \
            contains_secret_value(json.dumps(value, default=str))
    if isinstance(value, list):
        return any(contains_secret_value(v) for v in value)
    return isinstance(value, str) and any(is_secret_kind(kind) for kind in redact_text(value)[1])


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def inject_parameters(nb: NotebookNode, parameters: Mapping[str, Any], source: str) -> NotebookNode:
    """A copy with a cell tagged `injected-parameters` right after the `parameters` cell, as papermill
    does; an unknown name, a secret-shaped value or a value of another type than declared is refused."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.cells = [c for c in nb.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    if not parameters:
        return nb
    index = parameters_cell_index(nb)
    if index is None:
        raise InputError(source, "parameters", "the notebook has no cell tagged 'parameters' to override")
    known = declared_parameters(nb)
    types = declared_types(nb)
    for name, value in parameters.items():
        if name not in known:
            raise InputError(source, name, f"is not a parameter of this notebook (known: {', '.join(known)})")
        if contains_secret_value(value):
            raise InputError(source, name, "looks like a secret; parameters are written into the executed "
                             "notebook, so pass a file that holds it instead")
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(source, name, f"{value!r} is not a finite number")
        problem = types[name](value) if name in types else None
        if problem:
            raise InputError(source, name, f"must be {problem}, not {_shown(value)} (nothing run)")
    lines = ["# Parameters"] + [f"{name} = {value!r}" for name, value in parameters.items()]
    cell = nbformat.v4.new_code_cell("\n".join(lines) + "\n", metadata={"tags": [INJECTED_TAG]})
    cell["id"] = INJECTED_TAG  # a stable id keeps executed copies of identical runs identical
    nb.cells.insert(index + 1, cell)
    return nb
