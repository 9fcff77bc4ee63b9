import itertools

import numpy as np
import pytest

from core.generation import check_sampling_args, next_token

LOGITS = np.array([0.5, 2.0, -1.0, 1.5, 0.0, 1.0, -0.5, 0.2])
BEST = int(np.argmax(LOGITS))


def _draws(logits=LOGITS, n=2000, seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    return np.array([next_token(logits, rng, **kwargs) for _ in range(n)])


def test_greedy_is_argmax():
    rng = np.random.default_rng(0)
    for seed in range(5):
        logits = np.random.default_rng(seed).standard_normal(30)
        assert next_token(logits, rng, greedy=True) == int(np.argmax(logits))
    # Sampling arguments do not change the greedy choice.
    assert next_token(LOGITS, rng, greedy=True, temperature=5.0, top_k=4, top_p=0.3) == BEST


@pytest.mark.parametrize("temperature", [0.1, 1.0, 10.0])
def test_top_k_one_is_greedy(temperature):
    draws = _draws(n=200, top_k=1, temperature=temperature)
    assert set(draws) == {BEST}


def test_tiny_top_p_is_greedy():
    assert set(_draws(n=200, top_p=1e-6, temperature=3.0)) == {BEST}


def test_top_k_keeps_only_the_best():
    draws = _draws(n=3000, top_k=3, temperature=5.0)
    assert set(draws) == set(np.argsort(-LOGITS)[:3])


def test_top_p_keeps_the_smallest_set_reaching_p():
    probs = np.array([0.05, 0.3, 0.1, 0.25, 0.2, 0.1])
    # Sorted: 0.3 (id 1), 0.25 (id 3): 0.55 >= 0.5, so ids 1 and 3 remain.
    draws = _draws(np.log(probs), n=3000, top_p=0.5)
    assert set(draws) == {1, 3}
    assert np.mean(draws == 1) == pytest.approx(0.3 / 0.55, abs=0.03)
    # A slightly larger p needs the third token too.
    assert set(_draws(np.log(probs), n=3000, top_p=0.56)) == {1, 3, 4}


def test_lower_temperature_concentrates_draws():
    frequencies = [np.mean(_draws(temperature=t) == BEST) for t in (2.0, 1.0, 0.5, 0.25)]
    assert all(a < b for a, b in itertools.pairwise(frequencies))
    probs = np.exp(LOGITS) / np.exp(LOGITS).sum()
    assert frequencies[1] == pytest.approx(probs[BEST], abs=0.03)


def test_repetition_penalty_lowers_a_repeated_token():
    tie = np.array([2.0, 2.0, 2.0, -1.0])
    plain = np.mean(_draws(tie, previous=[0, 0], repetition_penalty=1.0) == 0)
    penalised = np.mean(_draws(tie, previous=[0, 0], repetition_penalty=5.0) == 0)
    assert plain == pytest.approx(np.exp(2) / (3 * np.exp(2) + np.exp(-1)), abs=0.03)
    assert penalised < 0.1 < plain
    rng = np.random.default_rng(0)
    assert next_token(tie, rng, greedy=True, previous=[0], repetition_penalty=5.0) == 1
    # A negative logit is multiplied: -1 becomes -2 (still above -3), then -5 (below).
    negative = np.array([-1.0, -3.0])
    assert next_token(negative, rng, greedy=True, previous=[0], repetition_penalty=2.0) == 0
    assert next_token(negative, rng, greedy=True, previous=[0], repetition_penalty=5.0) == 1


def test_banned_ids_are_never_drawn():
    banned = [BEST, 3]
    draws = _draws(n=3000, temperature=5.0, banned=banned)
    assert not np.isin(draws, banned).any()
    assert len(set(draws)) == len(LOGITS) - 2
    assert next_token(LOGITS, np.random.default_rng(0), greedy=True, banned=banned) == 5


def test_seeded_rng_is_reproducible():
    kwargs = {"n": 100, "temperature": 2.0, "top_k": 6, "top_p": 0.9}
    np.testing.assert_array_equal(_draws(seed=3, **kwargs), _draws(seed=3, **kwargs))
    assert not np.array_equal(_draws(seed=3, **kwargs), _draws(seed=4, **kwargs))


def test_valid_arguments_pass():
    check_sampling_args(1.0, None, 1.0, 1.0)
    check_sampling_args(0.7, 40, 0.9, 1.2)
    check_sampling_args(2, np.int64(5), 1, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": 0}, "`temperature` must be a number > 0 .*Received: temperature=0"),
        ({"temperature": -1}, "`temperature` must be a number > 0 .*Received: temperature=-1"),
        ({"temperature": True}, "`temperature` must be a number > 0"),
        ({"top_p": 0}, r"`top_p` must be in \(0, 1\]. Received: top_p=0"),
        ({"top_p": 1.5}, r"`top_p` must be in \(0, 1\]. Received: top_p=1.5"),
        ({"top_k": 0}, "`top_k` must be None or an integer >= 1. Received: top_k=0"),
        ({"top_k": 2.0}, "`top_k` must be None or an integer >= 1. Received: top_k=2.0"),
        (
            {"repetition_penalty": 0.5},
            "`repetition_penalty` must be a number >= 1 .*Received: repetition_penalty=0.5",
        ),
    ],
)
def test_check_sampling_args_errors(kwargs, message):
    args = {"temperature": 1.0, "top_k": None, "top_p": 1.0, "repetition_penalty": 1.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        check_sampling_args(**args)
