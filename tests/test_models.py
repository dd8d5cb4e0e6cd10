import json

import pytest
from pydantic import ValidationError

from worldflux_nb.errors import InputError
from worldflux_nb.io.artifacts import artifact_from_json
from worldflux_nb.models import EvalProfile

from conftest import REFERENCE_PROFILE


def test_profile_seals_and_round_trips():
    profile = EvalProfile.model_validate(REFERENCE_PROFILE).sealed()
    data = json.loads(json.dumps(profile.to_json_dict()))
    assert data["schema_version"] == "worldflux_nb.profile.v1"
    assert data["privacy"] == "LOCAL_PRIVATE"
    assert artifact_from_json(data, "profile.json") == profile


def test_tampered_profile_is_refused_naming_the_digest():
    data = EvalProfile.model_validate(REFERENCE_PROFILE).sealed().to_json_dict()
    data["robot_model"] = "widowx-250"
    with pytest.raises(InputError) as err:
        artifact_from_json(data, "profile.json")
    assert "profile.json: profile_digest" in err.value.one_line()


@pytest.mark.parametrize("field,value", [
    ("degrees_of_freedom", 0), ("control_frequency_hz", -1.0), ("embodiment_class", "spaceship"),
    ("control_frequency_hz", float("nan")),
])
def test_profile_rejects_bad_values(field, value):
    with pytest.raises(ValidationError):
        EvalProfile.model_validate({**REFERENCE_PROFILE, field: value})


def test_models_are_frozen():
    profile = EvalProfile.model_validate(REFERENCE_PROFILE)
    with pytest.raises(ValidationError):
        profile.robot_model = "other"  # type: ignore[misc]


def test_frozen_models_given_the_same_fields_share_one_fields_set():
    first = EvalProfile.model_validate(REFERENCE_PROFILE)
    second = EvalProfile.model_validate(json.loads(json.dumps(REFERENCE_PROFILE)))
    given = set(first.model_fields_set)
    assert first.model_fields_set is second.model_fields_set
    assert set(REFERENCE_PROFILE) <= given
    # A copy with changes has a set of its own; the shared one is untouched.
    changed = first.model_copy(update={"robot_model": "other"})
    assert changed.model_fields_set is not first.model_fields_set
    assert second.model_fields_set == given
    # Given fewer fields: another set, naming only those.
    fewer = EvalProfile.model_validate({k: v for k, v in REFERENCE_PROFILE.items() if k != "language_input"})
    assert fewer.model_fields_set == given - {"language_input"}


def test_no_model_field_defaults_through_a_builtin_factory():
    """pydantic reads each default factory's signature when it builds a model; a builtin's (`list`,
    `dict`) takes a tokenizer pass, which every command that loads a plan paid (models.common.empty_list)."""
    import importlib
    import pkgutil

    import worldflux_nb.models as models
    from worldflux_nb.models.common import Frozen

    for module in pkgutil.iter_modules(models.__path__):
        importlib.import_module(f"worldflux_nb.models.{module.name}")
    classes, stack = [], [Frozen]
    while stack:
        cls = stack.pop()
        classes.append(cls)
        stack.extend(cls.__subclasses__())
    assert len(classes) > 30
    builtin = [f"{cls.__name__}.{name}" for cls in classes for name, field in cls.__pydantic_fields__.items()
               if isinstance(field.default_factory, type) and field.default_factory.__module__ == "builtins"]
    assert not builtin, builtin


def test_cells_share_one_range_and_seed_rule_yet_each_is_checked_in_full():
    """A repeated episode range or seed rule is validated once and its instance shared; a value that
    differs only by an extra key or a missing field is still refused."""
    from worldflux_nb.models.plan import PlanCell

    def cell(episodes, seeds):
        return PlanCell(cell_id="c", probe_id="p", task_id="t", axis="nominal", level=0,
                        episodes=episodes, seeds=seeds)

    first = cell({"start": 0, "count": 3}, {"rule": "run_seed", "run_seed": 7})
    again = cell({"start": 0, "count": 3}, {"rule": "run_seed", "run_seed": 7})
    assert again.episodes is first.episodes and again.seeds is first.seeds
    assert cell({"start": 1, "count": 3}, {"rule": "none", "run_seed": None}).episodes.start == 1
    for episodes, seeds, field in [
        ({"start": 0, "junk": 3}, {"rule": "none", "run_seed": None}, "count"),
        ({"start": 0, "count": 3}, {"rule": "none", "junk": 7}, "junk"),  # ("none", None) is shared
        ({"start": 0, "count": 0}, {"rule": "none", "run_seed": None}, "count"),
        ({"start": 0, "count": 3}, {"rule": "run_seed", "run_seed": None}, "seeds"),
        ({"start": 0, "count": 3}, {"rule": "none", "run_seed": 7}, "seeds"),
    ]:
        with pytest.raises(ValidationError, match=field):
            cell(episodes, seeds)
