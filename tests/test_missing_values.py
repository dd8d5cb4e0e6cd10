"""One spelling of a missing value everywhere, and integers that stay integers."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from demo_support import demo
from worldflux_nb.core.text import NO_VALUE, value_text
from worldflux_nb.render.document import cell_text

ALTERNATIVE_SPELLINGS = ("<NA>", "nan", "NaN", "None", "NaT", "none recorded")


@pytest.mark.parametrize("value", [None, float("nan"), np.nan, pd.NA, pd.NaT, np.float64("nan")])
def test_every_missing_value_reads_the_same(value):
    assert value_text(value) == NO_VALUE
    assert cell_text(value) == NO_VALUE


@pytest.mark.parametrize("value, text", [(217986490.0, "217986490"), (np.int64(7), "7"), (0.0, "0"),
                                         (np.float64(3.0), "3"), (-2**40, str(-2**40))])
def test_whole_numbers_read_as_integers(value, text):
    assert value_text(value) == text


def test_cell_text_keeps_rates_as_rates_and_flags_as_words():
    assert cell_text(0.5) == "0.500"
    assert cell_text(np.bool_(True)) == "yes"
    assert cell_text(np.int64(12)) == "12"


def words(text: str) -> set[str]:
    return set(re.findall(r"<NA>|\bnan\b|\bNaN\b|\bNaT\b|none recorded", text))


def test_sealed_packet_json_and_markdown_never_spell_missing_values_otherwise():
    from worldflux_nb.render.markdown import to_markdown
    from worldflux_nb.render.packet_docs import packet_document

    packet = demo().packet
    missing = [f for f in packet.flagged_episodes if f.category == "missing"]
    assert missing, "the demo evidence has missing episodes"
    as_json = json.dumps(packet.to_json_dict())
    as_markdown = to_markdown(packet_document(packet))
    assert words(as_json) == set() and words(as_markdown) == set()
    assert any(f"(planned seed {NO_VALUE})" in (f.detail or "") or "(planned seed " in (f.detail or "")
               for f in missing)


def test_the_explorer_shows_episode_indexes_and_seeds_as_integers():
    d = demo()
    explorer = d.packet.explore(d.checked.rows, plan=d.plan)
    seen = 0
    for cell_id in explorer.filtered["cell_id"]:
        rows = explorer.episode_rows(cell_id)
        for value in rows["episode_index"]:
            assert isinstance(value, int) and not isinstance(value, bool)
        for value in rows["seed"]:
            assert value is None or (isinstance(value, int) and not isinstance(value, bool))
        for hint in rows["replay"]:
            assert ".0 " not in hint + " " and "nan" not in hint and "<NA>" not in hint
        seen += len(rows)
    assert seen > 0
    html = explorer.static_html()
    assert words(html) == set() and not re.search(r"(seed|episode) \d+\.0\b", html)
    json.dumps(explorer.data, allow_nan=False)  # what the front end gets is plain JSON: ints, None
    for rows in explorer.data["episodes"].values():
        assert all(isinstance(r[0], int) and (r[1] is None or isinstance(r[1], int)) for r in rows)
