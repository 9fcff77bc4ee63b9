import numbers

import keras
import numpy as np
from keras import ops

# Bigram (a, b) is hashed from the exact pair index a * vocabulary_size + b, which
# stays below 2**31 for vocabularies up to 46,340 tokens.
MAX_VOCABULARY = 46_340


@keras.saving.register_keras_serializable(package="keras_domains")
class HashedNgramBag(keras.layers.Layer):
    """A linear model over TF-IDF weighted token unigrams and hashed bigrams.

    This is the "wide" path of a wide-and-deep text model: every token and
    every pair of adjacent tokens gets a learned vector of `output_dim`
    scores, weighted by its inverse document frequency; the bag is the
    weighted sum divided by the root of the summed squared weights of every
    occurrence. That is how a linear model on L2-normalised TF-IDF features
    sees a text in which no n-gram repeats; a repeated n-gram counts a little
    more here (the norm is per occurrence, which needs no pairwise
    comparison of the sequence). Bigrams go to `num_buckets`
    hashed slots. Call `adapt(token_ids)` once to learn the document
    frequencies; until then every n-gram weighs 1.

    Args:
        vocabulary_size: int. Number of token ids; id 0 is padding.
        output_dim: int. Size of each n-gram's vector (e.g. the number of logits).
        num_buckets: int. Hashed slots for bigrams; 0 turns bigrams off.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: integer tensor of token ids, shape `(batch, seq_len)`.
        token_gates: optional float tensor `(batch, seq_len)` that scales each
            token's unigram weight (and each bigram's by the product of its
            two gates) without changing the normalisation; all ones is the
            plain layer. Integrated gradients moves these from 0 to 1.

    Returns:
        Float tensor of shape `(batch, output_dim)`.

    Example:

    >>> layer = HashedNgramBag(vocabulary_size=10, output_dim=2, num_buckets=16)
    >>> layer(np.array([[3, 7, 0]])).shape
    (1, 2)
    """

    def __init__(self, vocabulary_size, output_dim, num_buckets=2**18, **kwargs):
        super().__init__(**kwargs)
        for arg_name, value, low in (
            ("vocabulary_size", vocabulary_size, 2),
            ("output_dim", output_dim, 1),
            ("num_buckets", num_buckets, 0),
        ):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
                raise ValueError(
                    f"`{arg_name}` must be an integer >= {low}. Received: {arg_name}={value}"
                )
        if vocabulary_size > MAX_VOCABULARY:
            raise ValueError(
                f"`vocabulary_size` must be at most {MAX_VOCABULARY}. "
                f"Received: vocabulary_size={vocabulary_size}"
            )
        self.vocabulary_size = int(vocabulary_size)
        self.output_dim = int(output_dim)
        self.num_buckets = int(num_buckets)

    def build(self, inputs_shape, token_gates_shape=None):
        n_slots = self.vocabulary_size + self.num_buckets
        self.embeddings = self.add_weight(
            name="embeddings", shape=(n_slots, self.output_dim), initializer="zeros"
        )
        self.idf = self.add_weight(
            name="idf", shape=(n_slots,), initializer="ones", trainable=False
        )

    def _slots(self, inputs):
        """Unigram slots `(batch, seq)` and bigram slots `(batch, seq - 1)`."""
        ids = ops.cast(inputs, "int32")
        if not self.num_buckets:
            return ids, None
        pairs = ids[:, :-1] * self.vocabulary_size + ids[:, 1:]
        return ids, self.vocabulary_size + ops.mod(pairs, self.num_buckets)

    def call(self, inputs, token_gates=None):
        unigrams, bigrams = self._slots(inputs)
        present = ops.cast(ops.not_equal(unigrams, 0), self.compute_dtype)
        weights = [ops.take(self.idf, unigrams, axis=0) * present]
        slots = [unigrams]
        if bigrams is not None:
            pair_present = present[:, :-1] * present[:, 1:]
            weights.append(ops.take(self.idf, bigrams, axis=0) * pair_present)
            slots.append(bigrams)
        norm = ops.sqrt(sum(ops.sum(ops.square(w), axis=1) for w in weights))
        norm = ops.maximum(norm, 1e-6)[:, None]
        if token_gates is not None:
            gates = ops.cast(token_gates, self.compute_dtype)
            weights[0] = weights[0] * gates
            if bigrams is not None:
                weights[1] = weights[1] * gates[:, :-1] * gates[:, 1:]
        bag = sum(
            ops.sum(w[:, :, None] * ops.take(self.embeddings, s, axis=0), axis=1)
            for w, s in zip(weights, slots, strict=True)
        )
        return bag / norm

    def adapt(self, token_ids):
        """Sets the inverse document frequencies from a training set of token ids.

        Uses scikit-learn's smoothed idf, `log((1 + n) / (1 + df)) + 1`; an
        n-gram never seen in training weighs 0, as a fitted TF-IDF vocabulary
        ignores unknown terms.

        Args:
            token_ids: integer array `(n_texts, seq_len)`, 0 for padding.
        """
        token_ids = np.asarray(token_ids, dtype=np.int64)
        if token_ids.ndim != 2:
            raise ValueError(f"`token_ids` must be a 2-D array. Received shape {token_ids.shape}.")
        if not self.built:
            self.build(token_ids.shape)
        n_slots = self.vocabulary_size + self.num_buckets
        rows = np.repeat(np.arange(len(token_ids)), token_ids.shape[1])
        slot_ids = [token_ids]
        row_ids = [rows]
        if self.num_buckets:
            a, b = token_ids[:, :-1], token_ids[:, 1:]
            pairs = self.vocabulary_size + (a * self.vocabulary_size + b) % self.num_buckets
            pairs = np.where((a == 0) | (b == 0), 0, pairs)
            slot_ids.append(pairs)
            row_ids.append(np.repeat(np.arange(len(token_ids)), token_ids.shape[1] - 1))
        slots = np.concatenate([s.ravel() for s in slot_ids])
        rows = np.concatenate(row_ids)
        keep = slots != 0
        # Each (text, slot) pair counts once: that is a document frequency.
        unique = np.unique(rows[keep] * n_slots + slots[keep])
        df = np.bincount(unique % n_slots, minlength=n_slots)
        idf = np.log((1.0 + len(token_ids)) / (1.0 + df)) + 1.0
        idf[df == 0] = 0.0
        self.idf.assign(idf.astype("float32"))

    def sparse_features(self, token_ids):
        """The layer's input features as a sparse matrix: `call(ids) == features @ embeddings`.

        Lets a convex solver fit the n-gram weights exactly (see
        `set_slot_weights`) instead of by stochastic gradient descent.

        Args:
            token_ids: integer array `(n_texts, seq_len)`, 0 for padding.

        Returns:
            `scipy.sparse.csr_matrix` of shape `(n_texts, vocabulary_size + num_buckets)`.
        """
        import scipy.sparse

        token_ids = np.asarray(token_ids, dtype=np.int64)
        if not self.built:
            self.build(token_ids.shape)
        idf = keras.ops.convert_to_numpy(self.idf).astype(np.float64)
        slots = [token_ids]
        if self.num_buckets:
            a, b = token_ids[:, :-1], token_ids[:, 1:]
            pairs = self.vocabulary_size + (a * self.vocabulary_size + b) % self.num_buckets
            slots.append(np.where((a == 0) | (b == 0), 0, pairs))
        rows = np.concatenate([np.repeat(np.arange(len(token_ids)), s.shape[1]) for s in slots])
        cols = np.concatenate([s.ravel() for s in slots])
        weights = np.where(cols == 0, 0.0, idf[cols])
        norms = np.sqrt(np.bincount(rows, weights=weights**2, minlength=len(token_ids)))
        data = weights / np.maximum(norms, 1e-6)[rows]
        matrix = scipy.sparse.csr_matrix(
            (data, (rows, cols)), shape=(len(token_ids), self.vocabulary_size + self.num_buckets)
        )
        matrix.eliminate_zeros()
        return matrix

    def set_slot_weights(self, weights):
        """Sets every n-gram slot's vector, e.g. from a linear model on `sparse_features`.

        Args:
            weights: array `(vocabulary_size + num_buckets, output_dim)`.
        """
        if not self.built:
            self.build(None)
        self.embeddings.assign(np.asarray(weights, dtype="float32"))

    def compute_output_shape(self, inputs_shape, token_gates_shape=None):
        return (inputs_shape[0], self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "output_dim": self.output_dim,
                "num_buckets": self.num_buckets,
            }
        )
        return config
