"""Pacing: gaps per brand and channel, spread across the day, one private probe at a time."""

from __future__ import annotations

import pytest

from socialbench.probing.pacing import Lanes, Pacing, interleave, schedule, span
from socialbench.probing.probes import Probe


def probe(n: int, *, brand="acme", channel="x", surface="public", persona="jo") -> Probe:
    return Probe(
        probe_id=f"p{n:011x}",
        suite="s",
        scenario="q",
        category="c",
        brand=brand,
        brand_handle=brand.title(),
        channel=channel,
        surface=surface,
        persona=persona,
        persona_handle=persona,
        followers=10,
        credential=None,
        text=f"hello {n}",
        repetition=n,
    )


def test_interleave_round_robins_lanes():
    probes = [probe(i, brand="a") for i in range(3)] + [probe(i + 3, brand="b") for i in range(2)]
    assert [p.brand for p in interleave(probes)] == ["a", "b", "a", "b", "a"]


def test_gap_spaces_probes_to_one_brand_and_channel():
    probes = [probe(i) for i in range(4)]
    planned = schedule(probes, origin=1000.0, pacing=Pacing(gap_s=60.0))
    assert [due for _, due in planned] == [1000.0, 1060.0, 1120.0, 1180.0]


def test_other_lanes_are_not_held_back_by_the_gap():
    probes = [probe(0, brand="a"), probe(1, brand="a"), probe(2, brand="b")]
    planned = dict(
        (p.probe_id, due) for p, due in schedule(probes, origin=0.0, pacing=Pacing(gap_s=60))
    )
    assert planned == {probes[0].probe_id: 0.0, probes[1].probe_id: 60.0, probes[2].probe_id: 0.0}


def test_spread_covers_the_span_evenly():
    probes = [probe(i, brand=f"b{i}") for i in range(4)]
    planned = schedule(probes, origin=0.0, pacing=Pacing(spread_s=86400.0))
    assert [due for _, due in planned] == [0.0, 21600.0, 43200.0, 64800.0]
    assert span(planned, 3600.0) == pytest.approx(64800.0 + 3600.0)


def test_private_probes_in_one_conversation_never_share_a_window():
    probes = [probe(i, surface="private") for i in range(3)]
    planned = schedule(probes, origin=0.0, pacing=Pacing(window_s=3600.0))
    dues = [due for _, due in planned]
    assert all(b - a > 3600.0 for a, b in zip(dues, dues[1:], strict=False))


def test_private_probes_of_different_personas_run_side_by_side():
    probes = [probe(0, surface="private", persona="a"), probe(1, surface="private", persona="b")]
    planned = schedule(probes, origin=0.0, pacing=Pacing(window_s=3600.0))
    assert [due for _, due in planned] == [0.0, 0.0]


def test_a_probe_held_back_by_its_conversation_does_not_hold_back_its_lane():
    private = [probe(i, surface="private") for i in range(3)]
    public = [probe(10 + i, persona=f"p{i}") for i in range(3)]
    planned = schedule(private + public, origin=0.0, pacing=Pacing(window_s=86400.0))
    dues = {p.probe_id: due for p, due in planned}
    assert [dues[p.probe_id] for p in public] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("taken", "wanted", "expected"),
    [
        pytest.param([], 5.0, 5.0, id="empty lane"),
        pytest.param([0.0], 30.0, 60.0, id="too close after"),
        pytest.param([100.0], 30.0, 30.0, id="fits before"),
        pytest.param([100.0], 50.0, 160.0, id="too close before"),
        pytest.param([0.0, 60.0, 200.0], 10.0, 120.0, id="first gap wide enough"),
    ],
)
def test_lanes_give_the_earliest_time_a_gap_away_from_every_other(taken, wanted, expected):
    lanes = Lanes(60.0)
    for moment in taken:
        lanes.reserve(("a", "x"), moment)
    assert lanes.reserve(("a", "x"), wanted) == expected
