"""The plan's column-wise cell check (models.plan_cell_columns) against pydantic's cell-by-cell one:
on every input both accept the same cells, built alike, or both refuse."""

from __future__ import annotations

import copy
from typing import Annotated, Any

import pytest
from pydantic import TypeAdapter, ValidationError, WrapValidator

from worldflux_nb.models import plan
from worldflux_nb.models.plan import NO_SEED, PlanCell
from worldflux_nb.models.plan_cell_columns import cells_from_rows

INT64_MAX = 2**63 - 1
AS_PLANS_READ_THEM = TypeAdapter(Annotated[list[PlanCell], WrapValidator(plan._validated_cells)])
ONE_BY_ONE = TypeAdapter(list[PlanCell])


def rows() -> list[dict[str, Any]]:
    return [
        {"cell_id": "libero/a/0/nominal/0", "probe_id": "libero", "task_id": "libero_spatial/0", "axis": "nominal",
         "level": 0, "episodes": {"start": 0, "count": 50}, "seeds": {"rule": "none", "run_seed": None}},
        {"cell_id": "sim/b:1+x_y.z-w", "probe_id": "simpler-env", "task_id": "t", "axis": "camera",
         "level": "far", "episodes": {"start": 10, "count": 5}, "seeds": {"rule": "run_seed_plus_index", "run_seed": -4}},
        {"cell_id": "C3", "probe_id": "simpler-env", "task_id": "t", "axis": "camera", "level": 2,
         "episodes": {"start": 0, "count": 50}},  # seeds left out: the rule none, not among the fields set
    ]


def outcome(adapter: TypeAdapter, value: Any) -> Any:
    try:
        cells = adapter.validate_python(value)
    except ValidationError:
        return "refused"
    return [(type(c), list(c.__dict__.items()), c.model_fields_set) for c in cells]


def one_by_one(value: Any) -> Any:
    """pydantic's own cell-by-cell validation plus the plan's rule that no cell repeats."""
    found = outcome(ONE_BY_ONE, value)
    if found != "refused":
        try:
            plan.refuse_repeated_cells(ONE_BY_ONE.validate_python(value))
        except ValueError:
            return "refused"
    return found


def changed(at: int, field: str, value: Any) -> list[dict[str, Any]]:
    out = rows()
    if value is DROP:
        del out[at][field]
    else:
        out[at][field] = value
    return out


DROP = object()
TAKEN_AS_THEY_ARE = [
    rows(),
    changed(0, "cell_id", "a" * 128),
    changed(1, "level", "x" * 64),
    changed(0, "level", -7),
    changed(0, "episodes", {"start": INT64_MAX - 49, "count": 50}),
    changed(1, "seeds", {"rule": "run_seed_plus_index", "run_seed": INT64_MAX - 14}),
    changed(1, "seeds", {"rule": "run_seed", "run_seed": INT64_MAX}),
    [dict(row, seeds={"rule": "none", "run_seed": None}) for row in rows()],
    [{k: v for k, v in row.items() if k != "seeds"} for row in rows()],
]
LEFT_TO_PYDANTIC = [
    [],
    changed(0, "cell_id", " padded "),  # pydantic strips it
    changed(0, "cell_id", "ends\n"),
    changed(0, "cell_id", "two\nlines"),
    changed(0, "cell_id", ""),
    changed(0, "cell_id", "-leading"),
    changed(0, "cell_id", "é"),
    changed(0, "cell_id", "a" * 129),
    changed(0, "cell_id", 5),
    changed(0, "cell_id", "C3"),  # repeated
    changed(0, "probe_id", True),
    changed(1, "task_id", "has space"),
    changed(2, "axis", "\tx"),
    changed(0, "level", True),
    changed(0, "level", 1.0),
    changed(0, "level", None),
    changed(1, "level", ""),
    changed(1, "level", "x" * 65),
    changed(1, "level", "2"),  # the same place as the next cell's level 2
    changed(0, "episodes", {"count": 50}),  # start defaults to 0
    changed(0, "episodes", {"start": 0, "count": 50, "x": 1}),
    changed(0, "episodes", {"start": True, "count": 50}),
    changed(0, "episodes", {"start": 0, "count": 50.0}),
    changed(0, "episodes", {"start": 0, "count": 0}),
    changed(0, "episodes", {"start": -1, "count": 2}),
    changed(0, "episodes", {"start": INT64_MAX - 48, "count": 50}),
    changed(0, "episodes", [3, 1, 2]),
    changed(0, "episodes", [1, 1]),
    changed(0, "episodes", "0-49"),
    changed(1, "seeds", {"rule": "run_seed_plus_index", "run_seed": INT64_MAX - 13}),
    changed(1, "seeds", {"rule": "bogus", "run_seed": None}),
    changed(1, "seeds", {"rule": "none", "run_seed": 3}),
    changed(1, "seeds", {"rule": "run_seed", "run_seed": False}),
    changed(1, "seeds", {"rule": "run_seed"}),
    changed(1, "seeds", [1, None, 3, 4, 5]),
    changed(1, "seeds", [1, 2]),
    changed(1, "seeds", None),
    changed(0, "seeds", NO_SEED),  # an instance, given (in its fields set), beside a cell that leaves it out
    changed(2, "extra", 1),
    changed(2, "axis", DROP),
    rows()[:2] + [PlanCell.model_validate(rows()[2])],
    rows() + ["not a cell"],
    "not a list",
]


@pytest.mark.parametrize("value", TAKEN_AS_THEY_ARE)
def test_cells_in_a_plan_files_shape_are_built_as_pydantic_builds_them(value: Any) -> None:
    given = copy.deepcopy(value)
    assert cells_from_rows(value) is not None
    assert outcome(AS_PLANS_READ_THEM, value) == one_by_one(value) != "refused"
    assert value == given  # the rows read are left as they were


@pytest.mark.parametrize("value", LEFT_TO_PYDANTIC)
def test_anything_else_goes_to_pydantic_and_reads_as_it_would(value: Any) -> None:
    assert cells_from_rows(value) is None
    assert outcome(AS_PLANS_READ_THEM, value) == one_by_one(value)


def test_a_repeated_cell_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError, match="cell_id C3 appears more than once"):
        AS_PLANS_READ_THEM.validate_python(changed(0, "cell_id", "C3"))
    with pytest.raises(ValidationError, match="two cells plan simpler-env/t/camera/2"):
        AS_PLANS_READ_THEM.validate_python(changed(1, "level", "2"))


def test_seeds_past_int64_are_refused_either_way() -> None:
    """run_seed + the last episode index must fit int64: a range (the column check) or a list (pydantic's)."""
    for episodes in ({"start": INT64_MAX - 63, "count": 50}, [0, INT64_MAX - 14]):  # last index INT64_MAX - 14
        value = changed(1, "seeds", {"rule": "run_seed_plus_index", "run_seed": 15})
        value[1]["episodes"] = episodes
        with pytest.raises(ValidationError, match="must fit in a signed 64-bit integer"):
            AS_PLANS_READ_THEM.validate_python(value)


def test_ranges_and_rules_are_the_instances_pydantic_shares() -> None:
    fast = AS_PLANS_READ_THEM.validate_python(rows())
    slow = PlanCell.model_validate(rows()[0])
    assert fast[0].episodes is slow.episodes and fast[0].seeds is slow.seeds
    assert fast[2].episodes is fast[0].episodes and fast[2].seeds is NO_SEED


def test_the_column_check_knows_every_rule_a_plan_cell_has():
    """plan_cell_columns repeats PlanCell's rules: a rule added to PlanCell, or a slug or level that
    changes, must be added there too, so this fails until it is looked at."""
    from typing import get_args

    from worldflux_nb.models.common import Level, Slug

    decorators = PlanCell.__pydantic_decorators__
    assert set(decorators.model_validators) == {"_share_fields_set", "_consistent"}
    assert not decorators.field_validators and not decorators.validators
    fields = PlanCell.model_fields
    assert list(fields) == ["cell_id", "probe_id", "task_id", "axis", "level", "episodes", "seeds"]
    (slug,) = Slug.__metadata__
    assert (slug.pattern, slug.max_length, slug.strip_whitespace) == (r"^[A-Za-z0-9][A-Za-z0-9_.:/+-]*$", 128, True)
    assert all(fields[name].metadata == [slug] for name in ("cell_id", "probe_id", "task_id", "axis"))
    assert fields["level"].annotation == Level
    (text,) = get_args(Level)[1].__metadata__
    assert (text.min_length, text.max_length) == (1, 64)
