"""Masked-token modelling (BERT): choose tokens to predict and corrupt the input."""

import numpy as np


def mask_tokens(
    token_ids,
    rng,
    *,
    vocabulary_size,
    mask_id,
    special_ids,
    rate=0.15,
    max_predictions=None,
):
    """Selects tokens to predict and replaces them 80% [MASK], 10% random, 10% unchanged.

    Each real token (not padding, not a special token) is selected with
    probability `rate`; every row with a real token gets at least one. The
    selected positions are returned padded to `max_predictions`, with a
    weight of 0 on the padding, so that a loss weighted by `weights` is
    computed on the selected tokens only.

    Args:
        token_ids: integer array `(n, seq_len)`, 0 for padding.
        rng: a `numpy.random.Generator` or `RandomState`.
        vocabulary_size: number of token ids (random replacements are drawn
            from the non-special ids below it).
        mask_id: id of the [MASK] token.
        special_ids: ids never selected (padding, [CLS], [SEP], ...).
        rate: probability that a real token is selected.
        max_predictions: positions returned per row; default
            `ceil(rate * seq_len) + 2`, which holds all selections but in
            rare rows (the surplus is dropped at random).

    Returns:
        `(inputs, positions, labels, weights)`: the corrupted ids `(n, seq_len)`;
        int32 positions, int32 original ids and float32 weights, each
        `(n, max_predictions)`.
    """
    if not 0.0 < rate < 1.0:
        raise ValueError(f"`rate` must be in (0, 1). Received: rate={rate}")
    token_ids = np.asarray(token_ids)
    n_rows, seq_len = token_ids.shape
    if max_predictions is None:
        max_predictions = int(np.ceil(rate * seq_len)) + 2
    max_predictions = min(int(max_predictions), seq_len)
    eligible = ~np.isin(token_ids, np.asarray([*special_ids, 0]))
    scores = _uniform(rng, (n_rows, seq_len))
    scores[~eligible] = 2.0
    selected = scores < rate
    # A row with real tokens but no selection predicts its lowest-scoring one.
    lowest = np.argmin(scores, axis=1)
    none_chosen = ~selected.any(axis=1) & eligible.any(axis=1)
    selected[np.flatnonzero(none_chosen), lowest[none_chosen]] = True

    order = np.argsort(np.where(selected, scores, 3.0), axis=1, kind="stable")
    positions = order[:, :max_predictions].astype(np.int32)
    weights = np.take_along_axis(selected, positions, axis=1).astype(np.float32)
    labels = np.take_along_axis(token_ids, positions, axis=1).astype(np.int32)
    positions = np.where(weights > 0, positions, 0).astype(np.int32)
    labels = np.where(weights > 0, labels, 0)

    inputs = token_ids.copy()
    action = _uniform(rng, positions.shape)
    rows = np.repeat(np.arange(n_rows), max_predictions).reshape(positions.shape)
    to_mask = (weights > 0) & (action < 0.8)
    inputs[rows[to_mask], positions[to_mask]] = mask_id
    to_random = (weights > 0) & (action >= 0.8) & (action < 0.9)
    replaceable = np.setdiff1d(np.arange(vocabulary_size), [*special_ids, 0])
    inputs[rows[to_random], positions[to_random]] = replaceable[
        _integers(rng, len(replaceable), int(to_random.sum()))
    ]
    return inputs, positions, labels, weights


def _uniform(rng, shape):
    return rng.random(shape) if isinstance(rng, np.random.Generator) else rng.random_sample(shape)


def _integers(rng, high, size):
    if isinstance(rng, np.random.Generator):
        return rng.integers(0, high, size)
    return rng.randint(0, high, size)
