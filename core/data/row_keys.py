"""Pseudo-random keys per table row, the same on every pass over the table."""

import numpy as np

#: Keys are uint64: they lie in [0, KEY_SPACE).
KEY_SPACE = 2**64
_MASK = KEY_SPACE - 1


def row_keys(index, seed):
    """A pseudo-random 64-bit key per row, from the row's number in the table and a seed.

    The same row always gets the same key, whatever chunk it is read in, so
    a row chosen by its key (held out for validation, say) is chosen again on
    every pass over the table. For one seed the map from row number to key is
    a bijection (SplitMix64), so no two rows share a key.

    Args:
        index: row numbers (integers >= 0).
        seed: integer seed.

    Returns:
        uint64 array of the same length as `index`.
    """
    offset = _splitmix64(int(seed) & _MASK)
    keys = np.array(index, dtype=np.uint64) + np.uint64(offset)  # A new array: edited in place.
    keys ^= keys >> np.uint64(30)
    keys *= np.uint64(0xBF58476D1CE4E5B9)
    keys ^= keys >> np.uint64(27)
    keys *= np.uint64(0x94D049BB133111EB)
    keys ^= keys >> np.uint64(31)
    return keys


def _splitmix64(value):
    """One SplitMix64 step on a Python integer (no numpy overflow warnings)."""
    z = (value + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def keys_below(keys, limit):
    """`keys < limit` for uint64 keys and a Python integer limit in [0, 2**64]."""
    if limit >= KEY_SPACE:
        return np.ones(len(keys), dtype=bool)
    return keys < np.uint64(limit)
