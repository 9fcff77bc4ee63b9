"""The Kneser-Ney reference of `benchmarks.language_model` is a proper distribution."""

import numpy as np
import pytest

from benchmarks.language_model import KneserNey


@pytest.mark.parametrize("order", [2, 3, 4])
def test_probabilities_sum_to_one_in_seen_and_unseen_contexts(order):
    rng = np.random.default_rng(order)
    sequences = [[1, *rng.integers(2, 30, size=int(rng.integers(3, 20))), 0] for _ in range(300)]
    model = KneserNey(order, 30).fit(sequences)
    for context in ([1, 1, 1], [1, 1, 5], [4, 5, 7], [29, 28, 27]):
        total = sum(model.probability(context, token) for token in range(30))
        assert total == pytest.approx(1.0, abs=1e-9)


def test_a_predictable_stream_has_a_perplexity_near_one_and_noise_near_the_vocabulary():
    cycle = [[1, *([2, 3, 4, 5] * 50), 0]] * 5
    assert KneserNey(3, 10).fit(cycle).perplexity(cycle) < 1.5
    rng = np.random.default_rng(0)
    noise = [[1, *rng.integers(2, 10, size=200)] for _ in range(20)]
    held_out = [[1, *rng.integers(2, 10, size=200)] for _ in range(5)]
    assert 6.0 < KneserNey(3, 10).fit(noise).perplexity(held_out) < 10.0
