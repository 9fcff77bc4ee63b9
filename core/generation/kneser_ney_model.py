"""An interpolated Kneser-Ney n-gram model over token ids, to mix with a neural language model."""

from collections import Counter, defaultdict

import numpy as np


class KneserNeyModel:
    """Interpolated Kneser-Ney n-gram probabilities of token ids (Chen and Goodman, 1998).

    The highest order counts n-grams; each lower order counts continuations
    (how many distinct tokens precede an (n-1)-gram), and every order
    subtracts `discount` from its counts and gives the mass freed to the
    order below it, down to a uniform floor over the vocabulary. An
    unseen context keeps the lower order's estimate.

    On a few hundred thousand tokens such a model is hard to beat by a small
    transformer trained from scratch: repeated phrasing is where counts
    shine. `TextGenerator` mixes it into its next-token distribution.

    Args:
        order: n-gram order (3: a token given the two before it).
        vocabulary_size: number of token ids.
        discount: absolute discount, in (0, 1).

    Example:
    >>> model = KneserNeyModel(3, vocabulary_size=100).fit([[1, 5, 7, 2], [1, 5, 8, 2]])
    >>> model.probabilities([1, 5]).sum()  # a distribution over the 100 ids
    1.0
    """

    def __init__(self, order=3, vocabulary_size=None, discount=0.75):
        if not isinstance(order, int) or isinstance(order, bool) or order < 1:
            raise ValueError(f"`order` must be a positive integer. Received: order={order!r}")
        if not 0.0 < discount < 1.0:
            raise ValueError(f"`discount` must be in (0, 1). Received: discount={discount!r}")
        self.order = order
        self.vocabulary_size = vocabulary_size
        self.discount = float(discount)

    def fit(self, sequences):
        """Counts the n-grams of token id sequences (padding id 0 ends a sequence).

        Args:
            sequences: iterables of int ids; an id 0 and what follows it are ignored.

        Returns:
            self.
        """
        grams = {self.order: Counter()}
        for sequence in sequences:
            ids = [int(i) for i in sequence]
            if 0 in ids:
                ids = ids[: ids.index(0)]
            for end in range(self.order - 1, len(ids)):
                grams[self.order][tuple(ids[end - self.order + 1 : end + 1])] += 1
        for n in range(self.order - 1, 0, -1):
            grams[n] = Counter(gram[1:] for gram in grams[n + 1])
        self._index(grams)
        return self

    def _index(self, grams):
        """Per order: context -> (next ids, counts), for whole distributions and single lookups."""
        self.grams_ = grams
        self.tables_ = {}
        for n, counts in grams.items():
            nexts = defaultdict(list)
            for gram, count in counts.items():
                nexts[gram[:-1]].append((gram[-1], count))
            self.tables_[n] = {
                context: (
                    np.array([t for t, _ in pairs], dtype=np.int64),
                    np.array([c for _, c in pairs], dtype=np.float64),
                )
                for context, pairs in nexts.items()
            }
        if self.vocabulary_size is None:
            self.vocabulary_size = 1 + max((max(g) for g in grams[1]), default=0)

    def probabilities(self, context):
        """The distribution of the next id after `context`, a float64 array `(vocabulary_size,)`."""
        context = [int(i) for i in context]
        p = np.full(self.vocabulary_size, 1.0 / self.vocabulary_size)
        for n in range(1, self.order + 1):
            if n - 1 > len(context):
                break
            key = tuple(context[len(context) - n + 1 :]) if n > 1 else ()
            entry = self.tables_[n].get(key)
            if entry is None:
                continue
            ids, counts = entry
            total = counts.sum()
            p = p * (self.discount * len(ids) / total)
            p[ids] += np.maximum(counts - self.discount, 0.0) / total
        return p

    def probability(self, context, token):
        """P(token | context): one entry of `probabilities(context)`."""
        return float(self.probabilities(context)[int(token)])

    def sequence_probabilities(self, ids):
        """P(ids[i] | ids[:i]) for i = 1 .. len(ids) - 1, as a float64 array."""
        ids = [int(i) for i in ids]
        return np.array(
            [
                self.probability(ids[max(0, i - self.order + 1) : i], ids[i])
                for i in range(1, len(ids))
            ]
        )

    def get_state(self):
        """The counts as plain JSON: per order, a list of `[id, ..., count]` rows."""
        return {
            "order": self.order,
            "vocabulary_size": self.vocabulary_size,
            "discount": self.discount,
            "grams": {
                str(n): [[*gram, count] for gram, count in counts.items()]
                for n, counts in self.grams_.items()
            },
        }

    @classmethod
    def from_state(cls, state):
        """Rebuilds a fitted model from `get_state()` output."""
        model = cls(state["order"], state["vocabulary_size"], state["discount"])
        model._index(
            {
                int(n): Counter({tuple(row[:-1]): row[-1] for row in rows})
                for n, rows in state["grams"].items()
            }
        )
        return model
