"""Aggregation and tie rules, ranking expansion, KTO labels and Krippendorff's alpha (pure)."""
from __future__ import annotations

from collections import Counter

import pytest

from rlhf_app.export.aggregate import (
    Decision, aggregate_units, each_decisions, group_votes, kto_labels, majority_value, mean_value, ranking_votes,
    votes_of,
)
from rlhf_app.export.agreement import OrdinalAlpha
from rlhf_app.export.formats import margin_for


@pytest.mark.parametrize("values, threshold, expected, reason", [
    ([-2, -3], 0.5, Decision(0, 1, 2.5), None),
    ([1, 2], 0.5, Decision(1, 0, 1.5), None),
    ([-1, 1], 0.5, None, "tie"),
    ([0, 0], 0.0, None, "tie"),
    ([-1, 0, 0], 0.5, None, "near_tie"),           # mean -0.333
    ([-1, 0], 0.5, Decision(0, 1, 0.5), None),       # exactly at the threshold is kept
    ([-1, 0], 0.6, None, "near_tie"),
    ([-1, 0, 0], 0.0, Decision(0, 1, 1 / 3), None),  # no threshold: only exact ties drop
    ([3], 0.5, Decision(1, 0, 3.0), None),        # positive prefers position 1
])
def test_mean_aggregation_follows_the_tie_rules(values, threshold, expected, reason):
    dropped: Counter[str] = Counter()
    decisions = aggregate_units({(0, 1): values}, "mean", threshold, dropped)
    assert decisions == ([expected] if expected else [])
    assert dropped == (Counter({reason: 1}) if reason else Counter())


@pytest.mark.parametrize("values, expected", [
    ([-1, -3, 2], -1),        # two for position 0; lower median of sizes (1, 3) is 1
    ([-2, -3, -3, 1], -3),    # sizes (2, 3, 3): median 3
    ([1, 2, -3], 1),
    ([2, 3, 0], 2),
    ([-1, 1], None),          # a draw between the sides
    ([-1, 0], None),          # a draw between a side and "about the same"
    ([0, 0, -3], 0),          # "about the same" wins
    ([-2, 2, 0, 0], 0),
    ([-2, 2, -1, 1, 0], None),
])
def test_majority_value_table(values, expected):
    assert majority_value(values) == expected


@pytest.mark.parametrize("values, reason", [([-1, 1], "no_majority"), ([0, 0, -3], "tie")])
def test_majority_aggregation_drops_draws_and_ties(values, reason):
    dropped: Counter[str] = Counter()
    assert aggregate_units({(0, 1): values}, "majority", 0.5, dropped) == []
    assert dropped == Counter({reason: 1})


def test_majority_aggregation_decides_for_the_most_common_side():
    assert aggregate_units({(0, 1): [2, 3, -1]}, "majority", 0.5, Counter()) == [Decision(1, 0, 2)]


@pytest.mark.parametrize("votes, threshold, expected, dropped", [
    ([(0, 1, -2)], 0.5, [Decision(0, 1, 2)], {}),
    ([(0, 1, 0)], 0.5, [], {"tie": 1}),
    ([(0, 1, 1)], 1.5, [], {"near_tie": 1}),
    ([(0, 1, 1), (0, 2, -3), (1, 2, 0)], 0.5, [Decision(1, 0, 1), Decision(0, 2, 3)], {"tie": 1}),
])
def test_each_keeps_every_vote_apart(votes, threshold, expected, dropped):
    counter: Counter[str] = Counter()
    assert each_decisions(votes, threshold, counter) == expected
    assert counter == Counter(dropped)


def test_mean_of_no_signal_is_zero():
    assert mean_value([1, -1, 0]) == 0


@pytest.mark.parametrize("ranking, expected", [
    ([1, 2], [(0, 1, -1)]),
    ([2, 1], [(0, 1, 1)]),
    ([1, 1], [(0, 1, 0)]),
    ([1, 2, 3, 4], [(0, 1, -1), (0, 2, -2), (0, 3, -3), (1, 2, -1), (1, 3, -2), (2, 3, -1)]),
    ([1, 9, 5], [(0, 1, -3), (0, 2, -3), (1, 2, 3)]),  # gaps capped at 3
])
def test_rankings_expand_to_all_pairs(ranking, expected):
    assert ranking_votes(ranking) == expected


@pytest.mark.parametrize("preference, ranking, expected", [
    (-2, None, [(0, 1, -2)]), (3, None, [(0, 1, 3)]), (None, None, []), (None, [2, 1], [(0, 1, 1)]),
])
def test_votes_of_a_judgement(preference, ranking, expected):
    assert votes_of(preference, ranking) == expected


def test_group_votes_collects_each_pair_across_judgements():
    assert group_votes([[(0, 1, -1), (0, 2, 2)], [(0, 1, 3)]]) == {(0, 1): [-1, 3], (0, 2): [2]}


@pytest.mark.parametrize("decisions, labels, ambiguous", [
    ([Decision(0, 1, 2)], [(0, True), (1, False)], 0),
    ([Decision(0, 1, 1), Decision(0, 2, 1), Decision(1, 2, 1)], [(0, True), (2, False)], 1),
    ([], [], 0),
])
def test_kto_labels_keep_clear_winners_and_losers(decisions, labels, ambiguous):
    assert kto_labels(decisions) == (labels, ambiguous)


@pytest.mark.parametrize("strength, margin", [(3, 1.0), (2, 0.667), (1, 0.333), (2.5, 0.833), (-3, 1.0)])
def test_margin_from_strength(strength, margin):
    assert margin_for(strength) == margin


def test_krippendorff_ordinal_alpha_matches_the_published_example():
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 coders, 12 units, ordinal α = 0.815."""
    n = None
    coders = [[1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n], [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3],
              [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n], [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n]]
    alpha = OrdinalAlpha()
    for unit in range(12):
        alpha.add_unit([c[unit] for c in coders if c[unit] is not None])
    assert alpha.alpha() == pytest.approx(0.815, abs=5e-4)
    assert alpha.pairable_values == 40
    assert alpha.units == 11  # the unit with a single value is not pairable


@pytest.mark.parametrize("units, expected", [
    ([[-2, -2], [1, 1], [3, 3]], 1.0),
    ([[-3, 3], [3, -3]], pytest.approx(-0.5)),
])
def test_alpha_is_one_for_perfect_agreement_and_negative_for_systematic_disagreement(units, expected):
    alpha = OrdinalAlpha()
    for values in units:
        alpha.add_unit(values)
    assert alpha.alpha() == expected


def test_alpha_is_undefined_without_variation_or_pairs():
    alpha = OrdinalAlpha()
    alpha.add_unit([2])
    assert alpha.alpha() is None and alpha.unanimous_share is None
    alpha.add_unit([2, 2])
    assert alpha.alpha() is None and alpha.unanimous_share == 1.0
