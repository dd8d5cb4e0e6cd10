"""The time detector reads `recorded_at` without pandas (core.iso_times) and groups in numpy; its
findings, and whole packets, are the ones of the pandas code it replaced (kept verbatim below as the
reference), over random evidence dated around the freeze in many forms, some unreadable."""

from __future__ import annotations

import json
import random
import warnings
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from test_conformance import audit, make_plan
from test_iso_times import ODD, generated
from test_packet_fast_paths import packet_in_fresh_interpreter
from test_scale import defective_rows
from worldflux_nb.core import detect, detect_time
from worldflux_nb.core.conformance import ConformanceResult, check_conformance
from worldflux_nb.core.detect import SourceEvidence
from worldflux_nb.core.finding_cells import in_plan_order, named
from worldflux_nb.core.findings import plural
from worldflux_nb.core.packet import build_packet
from worldflux_nb.errors import InputError
from worldflux_nb.io.artifacts import artifact_json
from worldflux_nb.models.packet import Finding, FreezeAnchor
from worldflux_nb.models.plan import ProtocolPlan
from worldflux_nb.models.receipt import PlanReceipt

# The reference keeps a freeze time's microseconds, as the code it replaced did, and pandas says so.
pytestmark = pytest.mark.filterwarnings("ignore:Discarding nonzero nanoseconds:UserWarning")


def reference_parse_utc(text: str, source: str, field: str) -> datetime:
    stamp = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    if pd.isna(stamp):
        raise InputError(source, field, f"{text!r} is not an ISO 8601 time")
    return stamp.to_pydatetime()


def reference_before_freeze(plan: ProtocolPlan, result: ConformanceResult,
                            anchor: FreezeAnchor) -> list[Finding]:
    present = result.present("recorded_at")
    if not present.any():
        return []
    frozen = pd.Timestamp(reference_parse_utc(anchor.frozen_at, "plan", "created_at"))
    dated = result.rows_where(present)[["probe_id", "cell_id", "planned_ix", "recorded_at"]]
    stamps = pd.to_datetime(dated["recorded_at"], utc=True, errors="coerce", format="ISO8601")
    out = []
    total = max(len(result.arrays.keys), 1)
    unreadable = dated[stamps.isna()]
    early = dated[stamps < frozen]
    for probe, mine in early.groupby("probe_id", sort=True):
        episodes = int(mine.loc[mine["planned_ix"] >= 0, "planned_ix"].nunique())
        shown, more, listed = named(in_plan_order(plan, mine["cell_id"]))
        out.append(Finding(
            kind="evidence_before_freeze", family="time", probe_id=probe,
            planned_affected=episodes, share=episodes / total,
            statement=(f"{probe}: {plural(len(mine), 'row')} ({plural(episodes, 'planned episode')}) were "
                       f"recorded before the plan was frozen at {anchor.frozen_at} ({anchor.anchored_by}), "
                       f"earliest {min(mine['recorded_at'])}; cells: {listed or 'none planned'}."),
            question=(f"On {probe}, evidence in {listed or 'unplanned cells'} is dated before the plan's "
                      "freeze: was the plan written after these results were seen?"),
            cells=shown, cells_more=more))
    if len(unreadable):
        out.append(Finding(
            kind="unreadable_timestamps", family="time", planned_affected=0, share=0.0,
            statement=f"{plural(len(unreadable), 'row')} carry a recorded_at that is not an ISO 8601 time.",
            question="Some rows' timestamps cannot be read: what clock and format did the harness use?"))
    return out


# The forms core.iso_times reads itself; "+0000" is left to pandas.
FAST_FORMS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%d %H:%M:%S+00:00", "%Y-%m-%dT%H:%M",
              "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S.%f")
FORMS = FAST_FORMS + ("%Y-%m-%dT%H:%M:%S+0000",)


def dated_text(rng: random.Random, freeze: datetime, hostile: bool = True) -> str:
    """A time near the freeze in one of several forms (some in other zones, some with nanoseconds),
    or now and then a hostile text (without `hostile`: a February 30th)."""
    roll = rng.random()
    if roll < 0.05:
        if not hostile:
            return "2026-02-30T00:00:00Z"
        return rng.choice(ODD[1:]) if rng.random() < 0.5 else generated(rng)
    moment = freeze + timedelta(seconds=rng.choice([-1, 1]) * rng.choice([0, 1, 59, 3600, 86400 * 30])
                                + rng.choice([0, 0.000001, 0.5]))
    if roll < 0.15:
        zone = timezone(timedelta(minutes=rng.choice([-480, 330, 60])))
        return moment.astimezone(zone).isoformat()
    text = moment.strftime(rng.choice(FORMS if hostile else FAST_FORMS))
    if roll < 0.2 and "." in text:
        text = text.replace("Z", "") + "123" + ("Z" if text.endswith("Z") else "")  # nine digits
    return text


def evidence(seed: int):
    plan, inputs = dated_inputs(seed)
    return plan, check_conformance(plan, inputs)


def dated_inputs(seed: int, hostile: bool = True):
    rng = random.Random(seed)
    plan = make_plan(int(rng.choice([6, 9])))
    freeze = reference_parse_utc(plan.created_at, "plan", "created_at")
    rows = defective_rows(plan, rng)
    share = rng.choice([0.0, 0.3, 0.9, 1.0])
    for probe_rows in rows.values():
        probe_rows += [{**rng.choice(probe_rows), "episode_index": 10**6 + i} for i in range(3)]  # unplanned
        for r in probe_rows:
            if rng.random() < share:
                r["recorded_at"] = dated_text(rng, freeze, hostile)
    return plan, [audit(plan, probe, probe_rows) for probe, probe_rows in rows.items()]


ANCHORS = [None, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.123456789+01:00", " 2026-01-01",
           "2026-01-01T00:00:00+0100"]


@pytest.mark.parametrize("seed", range(16))
def test_the_time_findings_are_the_pandas_ones(seed):
    plan, result = evidence(seed)
    for frozen_at in ANCHORS:
        anchor = detect_time.freeze_anchor(plan) if frozen_at is None else \
            FreezeAnchor(frozen_at=frozen_at, anchored_by="reviewer_receipt", detail="-")
        assert detect_time.before_freeze_findings(plan, result, anchor) == reference_before_freeze(plan, result, anchor)


def test_the_random_evidence_finds_each_kind():
    kinds = [f.kind for seed in range(16) for f in
             detect_time.before_freeze_findings(*evidence(seed), detect_time.freeze_anchor(evidence(seed)[0]))]
    assert kinds.count("evidence_before_freeze") > 10 and "unreadable_timestamps" in kinds


@pytest.mark.parametrize("text", ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.123456789+01:00", " 2026-01-01",
                                  "2026-01-01T00:00:00.9999999-00:30", "2262-04-11T23:47:16.854775807Z", "5000-01-01"])
def test_parse_utc_is_pandas_to_the_microsecond(text):
    with warnings.catch_warnings():  # pandas warns that it drops the nanoseconds
        warnings.simplefilter("ignore")
        expected = reference_parse_utc(text, "s", "f")
    assert detect_time.parse_utc(text, "s", "f") == expected


def test_parse_utc_refuses_what_pandas_refuses():
    for text in ("2026-02-30", "yesterday", "", "2026-01-01T24:00:00Z"):
        with pytest.raises(InputError):
            reference_parse_utc(text, "s", "f")
        with pytest.raises(InputError, match="is not an ISO 8601 time"):
            detect_time.parse_utc(text, "s", "f")


@pytest.mark.parametrize("seed", [2, 5])
def test_packets_are_the_ones_the_pandas_detector_built(seed, monkeypatch):
    plan, dated = dated_inputs(seed)
    receipt = PlanReceipt(plan_id=plan.plan_id, plan_digest=plan.plan_digest,
                          received_at="2026-01-05T09:00:00.5+01:00", received_by="reviewer").sealed()
    packets = []
    for finder in (detect_time.before_freeze_findings, reference_before_freeze):
        monkeypatch.setattr(detect, "before_freeze_findings", finder)
        for sources in (None, SourceEvidence(receipt=receipt)):
            packets.append(artifact_json(build_packet(plan, dated, sources=sources)))
    assert packets[:2] == packets[2:]
    assert any(f["kind"] == "evidence_before_freeze" for f in json.loads(packets[0])["findings"])


@pytest.mark.parametrize("audit_format", ["parquet", "json"])
def test_the_packet_command_reads_times_and_receipts_without_pandas(tmp_path, audit_format):
    """Rows dated in the usual ISO 8601 forms (an impossible date among them) and a plan receipt:
    the packet command still never imports pandas."""
    plan, inputs = dated_inputs(4, hostile=False)
    receipt = PlanReceipt(plan_id=plan.plan_id, plan_digest=plan.plan_digest,
                          received_at="2026-01-05T09:00:00.5+01:00", received_by="reviewer").sealed()
    (tmp_path / "receipt.json").write_text(artifact_json(receipt), encoding="utf-8")
    assert packet_in_fresh_interpreter(tmp_path, plan, inputs, audit_format,
                                       "--plan-receipt", str(tmp_path / "receipt.json")) == ("0", False)
    kinds = {f["kind"] for f in json.loads((tmp_path / "packet.json").read_text())["findings"]}
    assert {"evidence_before_freeze", "unreadable_timestamps"} <= kinds
