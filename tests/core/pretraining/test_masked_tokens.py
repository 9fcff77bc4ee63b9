import numpy as np
import pytest

from core.pretraining import mask_tokens

VOCABULARY = 1000
MASK_ID = 4
SPECIAL_IDS = [1, 2, 3, 4]


def _token_ids(n_rows=2000, seq_len=64, seed=0):
    """[CLS]-like id 2 first, random real ids, some [SEP]-like 3s, then padding."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, VOCABULARY, size=(n_rows, seq_len))
    ids[rng.random(ids.shape) < 0.02] = 3
    ids[:, 0] = 2
    lengths = rng.integers(1, seq_len + 1, size=n_rows)
    ids[np.arange(seq_len)[None, :] >= lengths[:, None]] = 0
    return ids


def _mask(ids, seed=1, **kwargs):
    return mask_tokens(
        ids,
        np.random.default_rng(seed),
        vocabulary_size=VOCABULARY,
        mask_id=MASK_ID,
        special_ids=SPECIAL_IDS,
        **kwargs,
    )


@pytest.fixture(scope="module")
def ids():
    return _token_ids()


@pytest.fixture(scope="module")
def masked(ids):
    return _mask(ids)


def _selected(positions, weights):
    """(row, column) index arrays of the selected tokens."""
    rows = np.broadcast_to(np.arange(len(positions))[:, None], positions.shape)
    chosen = weights > 0
    return rows[chosen], positions[chosen]


def test_shapes_and_dtypes(ids, masked):
    inputs, positions, labels, weights = masked
    assert inputs.shape == ids.shape
    # Default max_predictions: ceil(0.15 * 64) + 2.
    assert positions.shape == labels.shape == weights.shape == (len(ids), 12)
    assert positions.dtype == labels.dtype == np.int32
    assert weights.dtype == np.float32
    assert set(np.unique(weights)) <= {0.0, 1.0}


@pytest.mark.parametrize("max_predictions", [None, 64])
def test_selection_rate(ids, max_predictions):
    _, _, _, weights = _mask(ids, max_predictions=max_predictions)
    real = ~np.isin(ids, [0, *SPECIAL_IDS])
    assert abs(weights.sum() / real.sum() - 0.15) < 0.01


def test_replacement_split(ids, masked):
    inputs, positions, _, weights = masked
    rows, cols = _selected(positions, weights)
    new, old = inputs[rows, cols], ids[rows, cols]
    assert abs(np.mean(new == MASK_ID) - 0.8) < 0.02
    random = (new != MASK_ID) & (new != old)
    assert abs(np.mean(random) - 0.1) < 0.02
    assert abs(np.mean(new == old) - 0.1) < 0.02
    # Random replacements are real tokens from the vocabulary.
    assert np.all(new[random] >= 5) and np.all(new[random] < VOCABULARY)


def test_labels_are_the_original_ids(ids, masked):
    _, positions, labels, weights = masked
    original = np.take_along_axis(ids, positions, axis=1)
    np.testing.assert_array_equal(labels[weights > 0], original[weights > 0])


def test_padding_slots_of_positions(ids, masked):
    _, positions, labels, weights = masked
    # Selected positions come first in each row; the rest is padding with weight 0.
    counts = (weights > 0).sum(axis=1)
    np.testing.assert_array_equal(weights > 0, np.arange(12)[None, :] < counts[:, None])
    assert np.all(positions[weights == 0] == 0) and np.all(labels[weights == 0] == 0)
    # Positions within a row are distinct.
    for row_positions, count in zip(positions, counts, strict=True):
        assert len(set(row_positions[:count])) == count
    # Some rows need fewer than 12 predictions, so padding slots exist.
    assert (weights == 0).any()


def test_special_ids_and_padding_never_selected(ids, masked):
    _, positions, _, weights = masked
    rows, cols = _selected(positions, weights)
    assert not np.isin(ids[rows, cols], [0, *SPECIAL_IDS]).any()


def test_unselected_positions_unchanged(ids, masked):
    inputs, positions, _, weights = masked
    changed = np.zeros(ids.shape, dtype=bool)
    changed[_selected(positions, weights)] = True
    np.testing.assert_array_equal(inputs[~changed], ids[~changed])


def test_every_row_with_a_real_token_has_a_selection(ids, masked):
    _, _, _, weights = masked
    has_real = (~np.isin(ids, [0, *SPECIAL_IDS])).any(axis=1)
    assert (~has_real).any(), "the data should hold rows without a real token"
    np.testing.assert_array_equal(weights.sum(axis=1) > 0, has_real)
    # Even at a tiny rate.
    _, _, _, weights = _mask(ids[:200], rate=0.001)
    np.testing.assert_array_equal(weights.sum(axis=1) > 0, has_real[:200])


def test_deterministic_for_a_fixed_seed(ids):
    first = _mask(ids[:100], seed=5)
    for a, b in zip(first, _mask(ids[:100], seed=5), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], _mask(ids[:100], seed=6)[1])
    # A legacy RandomState works too.
    legacy = mask_tokens(
        ids[:100],
        np.random.RandomState(5),
        vocabulary_size=VOCABULARY,
        mask_id=MASK_ID,
        special_ids=SPECIAL_IDS,
    )
    assert legacy[0].shape == ids[:100].shape


@pytest.mark.parametrize("rate", [0.0, 1.0, -0.1, 1.5])
def test_rate_outside_open_interval(rate):
    with pytest.raises(ValueError, match=rf"`rate` must be in \(0, 1\). Received: rate={rate}"):
        _mask(_token_ids(n_rows=4, seq_len=8), rate=rate)
