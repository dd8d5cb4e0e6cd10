"""Every artifact displays itself: four mimetypes, JSON that round-trips, no scripts or remote URLs."""

from __future__ import annotations

import json
import re
import sys
import types

import pytest

import display_samples as samples
import worldflux_nb
from worldflux_nb.io.artifacts import artifact_from_json
from worldflux_nb.models import RunSheet
from worldflux_nb.render.display import DISPLAY_MAX_ROWS, mimebundle
from worldflux_nb.render.document import Document, Table

ARTIFACTS = samples.every_artifact()
# XML namespace identifiers name a vocabulary; nothing is fetched from them.
NAMESPACE = re.compile(r'xmlns(:\w+)?="http://www\.w3\.org/[^"]*"')


def strings_in(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_in(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings_in(item)


def assert_offline(bundle) -> None:
    """No script tag and no remote URL in any string of a display bundle."""
    for text in strings_in(bundle):
        text = NAMESPACE.sub("", text)
        lowered = text.lower()
        assert "<script" not in lowered, text[:200]
        assert "http://" not in lowered and "https://" not in lowered, text[:200]


@pytest.mark.parametrize("name", sorted(ARTIFACTS))
def test_bundle_has_four_mimetypes_and_round_trips(name):
    artifact = ARTIFACTS[name]
    bundle = artifact._repr_mimebundle_()
    media = artifact.media_type()
    assert set(bundle) == {"text/plain", "text/html", "text/markdown", media}
    assert media == f"application/vnd.worldflux-nb.{artifact.KIND}.v1+json"
    assert "LOCAL_PRIVATE" in bundle["text/plain"]
    assert "model_config" not in bundle["text/plain"] and len(bundle["text/plain"]) < 1500
    assert bundle["text/html"].startswith("<div") and bundle["text/markdown"].startswith("# ")
    data = json.loads(json.dumps(bundle[media]))  # as stored in a notebook
    assert artifact_from_json(data, f"{name} bundle") == artifact
    assert_offline(bundle)


def test_plain_text_says_what_a_reader_needs():
    packet_text = ARTIFACTS["packet"]._repr_mimebundle_()["text/plain"]
    assert "planned episodes matched" in packet_text and "completed_only (optimistic)" in packet_text
    assert "NOT public-share-ready" in ARTIFACTS["brief"]._repr_mimebundle_()["text/plain"]
    assert "recorded, not verified" in ARTIFACTS["contract"]._repr_mimebundle_()["text/plain"]


def test_include_and_exclude_compute_only_what_is_asked():
    plan = ARTIFACTS["plan"]
    assert set(mimebundle(plan, include={"text/plain"})) == {"text/plain"}
    assert set(mimebundle(plan, exclude={"text/html", "text/markdown"})) == {
        "text/plain", plan.media_type()}


def test_loaded_file_displays_the_same(tmp_path):
    packet = ARTIFACTS["packet"]
    path = tmp_path / "packet.json"
    path.write_text(json.dumps(packet.to_json_dict()), encoding="utf-8")
    loaded = worldflux_nb.load(path)
    assert loaded._repr_mimebundle_() == packet._repr_mimebundle_()


def test_registered_builder_is_used_and_its_tables_are_bounded(monkeypatch):
    calls = []

    def profile_document(profile):
        calls.append(profile.profile_id)
        rows = [[i, f"row {i}"] for i in range(DISPLAY_MAX_ROWS + 300)]
        return Document(title=f"Profile {profile.profile_id}", blocks=[Table(["#", "text"], rows)])

    from worldflux_nb.render import display
    from worldflux_nb.models import EvalProfile

    monkeypatch.setitem(display.ARTIFACT_VIEWS, EvalProfile,
                        (profile_document, display.ARTIFACT_VIEWS[EvalProfile][1]))
    bundle = ARTIFACTS["profile"]._repr_mimebundle_()
    assert calls == ["customer-vla-v3-tabletop"]
    assert bundle["text/markdown"].startswith("# Profile customer-vla-v3-tabletop")
    assert bundle["text/html"].count("<tr ") == DISPLAY_MAX_ROWS + 1  # header row + visible rows
    assert "300 more rows in the JSON artifact" in bundle["text/markdown"]


def test_huge_run_sheet_displays_small():
    plan = ARTIFACTS["plan"]
    episodes = [{"cell_id": f"c{i // 50}", "probe_id": "libero", "task_id": "libero_10/1",
                 "axis": "nominal", "level": 0, "episode_index": i % 50, "seed": None}
                for i in range(200_000)]
    sheet = RunSheet(plan_id=plan.plan_id, plan_digest=plan.plan_digest, episodes=episodes)
    bundle = sheet._repr_mimebundle_()
    assert sheet.media_type() not in bundle and "JSON not embedded" in bundle["text/plain"]
    assert len(bundle["text/html"]) < 200_000 and len(bundle["text/markdown"]) < 100_000
    assert "200000 episodes across 4000 cells" in bundle["text/plain"]
    # The JSON is still there when asked for by name.
    assert len(sheet._repr_mimebundle_(include={sheet.media_type()})[sheet.media_type()]["episodes"]) == 200_000


def test_evidence_overview_lists_every_audit_input_on_one_row():
    from worldflux_nb.render.display import evidence_overview

    audit = ARTIFACTS["audit_input"]
    bundle = evidence_overview([audit, audit])._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", "text/markdown"}
    assert bundle["text/html"].count("<tr ") == 3  # header + one row per audit input
    assert audit.audit_digest in bundle["text/markdown"]
    assert_offline(bundle)


def test_every_artifact_kind_has_a_registered_display():
    from worldflux_nb.models import ARTIFACT_KINDS
    from worldflux_nb.render.display import ARTIFACT_VIEWS

    assert set(ARTIFACT_KINDS.values()) <= set(ARTIFACT_VIEWS)


def test_an_unregistered_artifact_kind_is_an_error_not_a_silent_default():
    from worldflux_nb.models.common import Artifact

    class Stray(Artifact):
        KIND = "stray"

    with pytest.raises(TypeError, match="no display registered for Stray"):
        Stray()._repr_mimebundle_()
