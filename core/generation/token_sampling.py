"""Choosing the next token from logits: greedy, temperature, top-k, top-p, repetition penalty."""

import numpy as np


def check_sampling_args(temperature, top_k, top_p, repetition_penalty):
    """Raises a clear ValueError for an argument outside its range."""
    if isinstance(temperature, bool) or not np.isscalar(temperature) or not temperature > 0:
        raise ValueError(
            f"`temperature` must be a number > 0 (use greedy=True for the most likely "
            f"token). Received: temperature={temperature!r}"
        )
    if top_k is not None and (
        isinstance(top_k, bool) or not isinstance(top_k, int | np.integer) or top_k < 1
    ):
        raise ValueError(f"`top_k` must be None or an integer >= 1. Received: top_k={top_k!r}")
    if isinstance(top_p, bool) or not np.isscalar(top_p) or not 0 < top_p <= 1:
        raise ValueError(f"`top_p` must be in (0, 1]. Received: top_p={top_p!r}")
    if (
        isinstance(repetition_penalty, bool)
        or not np.isscalar(repetition_penalty)
        or not repetition_penalty >= 1
    ):
        raise ValueError(
            "`repetition_penalty` must be a number >= 1 (1: none). "
            f"Received: repetition_penalty={repetition_penalty!r}"
        )


def next_token(
    logits,
    rng,
    *,
    greedy=False,
    temperature=1.0,
    top_k=None,
    top_p=1.0,
    repetition_penalty=1.0,
    previous=(),
    banned=(),
):
    """Picks the next token id.

    The repetition penalty (Keskar et al., 2019) divides the positive logits
    and multiplies the negative ones of every token already in `previous`.
    Then either the most likely token is taken (`greedy`), or the logits are
    divided by `temperature`, cut to the `top_k` most likely tokens and to
    the smallest set whose probability reaches `top_p` (nucleus sampling),
    and a token is drawn from what remains.

    Args:
        logits: float array `(vocabulary,)`.
        rng: a `numpy.random.Generator`.
        greedy: take the most likely token.
        temperature: > 0; below 1 sharpens, above 1 flattens.
        top_k: keep only the k most likely tokens (None: all).
        top_p: keep the most likely tokens up to this total probability.
        repetition_penalty: >= 1; 1 is no penalty.
        previous: ids already in the text.
        banned: ids never produced (e.g. padding, [MASK]).

    Returns:
        int token id.
    """
    logits = np.asarray(logits, dtype=np.float64).copy()
    if repetition_penalty != 1.0 and len(previous):
        seen = np.unique(np.asarray(previous, dtype=np.int64))
        logits[seen] = np.where(
            logits[seen] > 0, logits[seen] / repetition_penalty, logits[seen] * repetition_penalty
        )
    if len(banned):
        logits[np.asarray(banned, dtype=np.int64)] = -np.inf
    if greedy:
        return int(np.argmax(logits))
    logits /= temperature
    if top_k is not None and top_k < len(logits):
        kth = np.partition(logits, -top_k)[-top_k]
        logits[logits < kth] = -np.inf
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    if top_p < 1.0:
        order = np.argsort(-probs, kind="stable")
        cumulative = np.cumsum(probs[order])
        # Keep every token until the total reaches top_p, including the one that crosses it.
        keep = order[: int(np.searchsorted(cumulative, top_p)) + 1]
        kept = np.zeros_like(probs)
        kept[keep] = probs[keep]
        probs = kept / kept.sum()
    return int(rng.choice(len(probs), p=probs))
