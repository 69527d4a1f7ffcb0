import pytest

from align.kto_data import kto_weights
from core.errors import ChatLikeMeError


def balance(weights: dict) -> float:
    return (
        weights["desirable_weight"]
        * weights["n_desirable"]
        / (weights["undesirable_weight"] * weights["n_undesirable"])
    )


def test_balanced_data_keeps_both_weights_at_one() -> None:
    weights = kto_weights(500, 500)
    assert (weights["desirable_weight"], weights["undesirable_weight"]) == (1.0, 1.0)
    assert weights["ratio"] == 1.0


def test_one_positive_per_ten_negatives_upweights_the_positives() -> None:
    weights = kto_weights(100, 1000)
    assert weights["undesirable_weight"] == 1.0
    assert 10 <= weights["desirable_weight"] <= 40 / 3  # the seed's worked example, with the paper's range
    assert 1 <= balance(weights) <= 4 / 3
    assert weights["ratio"] == pytest.approx(balance(weights))


def test_three_positives_per_negative_upweights_the_negatives() -> None:
    weights = kto_weights(9000, 3000)
    assert weights["desirable_weight"] == 1.0
    assert 2.25 <= weights["undesirable_weight"] <= 3  # nD = 9000, nU = 3000 -> λU in [2.25, 3]
    assert 1 <= balance(weights) <= 4 / 3


@pytest.mark.parametrize("n_desirable, n_undesirable", [(1, 997), (997, 1), (130, 100), (133, 100), (7, 9)])
def test_ratio_always_lands_in_the_range(n_desirable: int, n_undesirable: int) -> None:
    weights = kto_weights(n_desirable, n_undesirable)
    assert 1 <= balance(weights) <= 4 / 3
    assert 1.0 in (weights["desirable_weight"], weights["undesirable_weight"])


def test_the_range_is_configurable() -> None:
    weights = kto_weights(100, 1000, (1.0, 1.5))  # the range the seed's examples imply
    assert 10 <= weights["desirable_weight"] <= 15
    assert 1 <= balance(weights) <= 1.5
    assert kto_weights(140, 100, (1.0, 1.5))["desirable_weight"] == 1.0  # 1.4 is inside [1, 1.5]
    assert kto_weights(140, 100)["undesirable_weight"] > 1.0  # ... but not inside [1, 4/3]


def test_a_label_with_no_rows_is_an_error() -> None:
    with pytest.raises(ChatLikeMeError, match="both desirable and undesirable"):
        kto_weights(10, 0)
