"""KneserNeyModel: interpolated Kneser-Ney probabilities, whole distributions, JSON state."""

import json

import numpy as np
import pytest

from core.generation.kneser_ney_model import KneserNeyModel

# Ids: 1 starts, 2 ends; 3 = "a", 4 = "b", 5 = "c".
SEQUENCES = [[1, 3, 4, 2], [1, 3, 5, 2], [1, 4, 4, 2]]


def test_a_probability_is_the_interpolated_kneser_ney_sum():
    model = KneserNeyModel(order=2, vocabulary_size=6, discount=0.5).fit(SEQUENCES)
    # Bigrams after "a" (3): a b, a c -> total 2, 2 types.
    # Unigram continuation counts: b after {a, 1... }: distinct left neighbours of each id.
    # Left neighbours: 3 <- {1}; 4 <- {3, 1, 4}; 5 <- {3}; 2 <- {4, 5} -> total 7, 4 types.
    uniform = 1 / 6
    unigram_b = (3 - 0.5) / 7 + 0.5 * 4 / 7 * uniform
    expected = (1 - 0.5) / 2 + 0.5 * 2 / 2 * unigram_b
    assert model.probability([3], 4) == pytest.approx(expected)
    assert model.probabilities([3])[4] == pytest.approx(expected)


@pytest.mark.parametrize("context", [[1, 3], [3, 4], [9, 9], [], [4]])
def test_every_context_gives_a_distribution(context):
    model = KneserNeyModel(order=3, vocabulary_size=10).fit(SEQUENCES)
    p = model.probabilities(context)
    assert p.shape == (10,) and (p > 0).all()
    assert p.sum() == pytest.approx(1.0)
    for token in (2, 4, 7):
        assert model.probability(context, token) == pytest.approx(p[token])


def test_padding_ends_a_sequence_and_sequence_probabilities_follow_the_context():
    model = KneserNeyModel(order=3, vocabulary_size=6).fit([[1, 3, 4, 2, 0, 0, 5]])
    assert (5,) not in model.grams_[1]  # After the padding: not counted.
    ids = [1, 3, 4, 2]
    expected = [model.probability(ids[max(0, i - 2) : i], ids[i]) for i in range(1, 4)]
    np.testing.assert_allclose(model.sequence_probabilities(ids), expected)


def test_state_is_json_and_restores_the_same_probabilities():
    model = KneserNeyModel(order=3, vocabulary_size=6).fit(SEQUENCES)
    restored = KneserNeyModel.from_state(json.loads(json.dumps(model.get_state())))
    np.testing.assert_allclose(restored.probabilities([1, 3]), model.probabilities([1, 3]))


def test_bad_settings_name_the_argument():
    with pytest.raises(ValueError, match="`order` must be a positive integer"):
        KneserNeyModel(order=0)
    with pytest.raises(ValueError, match=r"`discount` must be in \(0, 1\)"):
        KneserNeyModel(discount=1.5)
