import math

import keras
from keras import ops

from core.layers.transformer_block import TransformerBlock

# Additive score for disallowed keys. Scores are softmaxed in float32, where
# this is finite, so a masked key gets an exact zero weight without any NaN.
_LARGE_NEGATIVE = -1e9


@keras.saving.register_keras_serializable(package="keras_domains")
class TransformerDecoder(TransformerBlock):
    """GPT-style pre-norm transformer decoder block with a key/value cache.

    Computes `x + Dropout(CausalSelfAttention(LN(x)))` followed by
    `x + Dropout(FFN(LN(x)))`. There is no cross-attention. The hidden size is
    taken from the last input axis and must be divisible by `num_heads`.
    Because the block is pre-norm, a stack of these blocks should be followed
    by one final `LayerNormalization`.

    Position `i` attends to every position `j <= i` that is not padding, and
    always to itself, so a padded position (or a row that is all padding)
    still gives finite outputs. The key projection has no bias: a bias on the
    keys adds the same score to every key of a query and so cannot change the
    attention weights.

    For autoregressive generation, the keys and values of past positions can
    be kept in a cache of shape
    `(batch, 2, max_length, num_heads, hidden // num_heads)` (keys at index 0
    of axis 1, values at index 1). Start from zeros, for example
    `layer.initial_cache(batch, max_length, hidden)`, and pass it with
    `cache_update_index`; the call writes the keys and values of the new
    positions into the cache and returns `(outputs, new_cache)`.

    Args:
        intermediate_dim, num_heads, dropout, activation, layer_norm_epsilon,
        **kwargs: as `TransformerBlock` documents them (feed-forward width,
            attention heads, dropout rate, feed-forward activation, layer-norm
            epsilon, base layer arguments).

    Call arguments:
        inputs: float tensor of shape `(batch, seq_len, hidden)`. With a
            cache, the hidden states of the absolute positions
            `[cache_update_index, cache_update_index + seq_len)`.
        padding_mask: optional boolean (or 0/1) tensor; `False` marks padding
            that no other position attends to. Without a cache its shape is
            `(batch, seq_len)` and it defaults to the incoming Keras mask.
            With a cache it covers the whole cache, `(batch, max_length)`,
            indexed by absolute position (the Keras mask, which covers only
            the new positions, is then ignored).
        cache: optional float tensor of shape
            `(batch, 2, max_length, num_heads, hidden // num_heads)`.
        cache_update_index: int scalar or scalar integer tensor, the absolute
            position of the first input position; required with `cache`.
            A tensor index lets one traced `tf.function` serve every step.
            `cache_update_index + seq_len` must not exceed `max_length`.
        training: Python boolean, whether dropout is active.

    Returns:
        Without a cache, a tensor of the input's shape (the incoming Keras
        mask is kept). With a cache, a tuple `(outputs, new_cache)`: new
        positions attend to cache positions up to their own absolute position
        only, so stale values after it are ignored.

    Example:

    >>> layer = TransformerDecoder(intermediate_dim=16, num_heads=2)
    >>> layer(np.zeros((2, 5, 8))).shape
    (2, 5, 8)
    >>> cache = layer.initial_cache(batch_size=2, max_length=5)
    >>> outputs, cache = layer(np.zeros((2, 1, 8)), cache=cache, cache_update_index=0)
    >>> cache.shape
    (2, 2, 5, 2, 4)
    """

    def __init__(self, intermediate_dim, num_heads, **kwargs):
        super().__init__(intermediate_dim, num_heads, **kwargs)
        self._hidden_dim = None

    def build(
        self,
        inputs_shape,
        padding_mask_shape=None,
        cache_shape=None,
        cache_update_index_shape=None,
    ):
        hidden_dim = inputs_shape[-1]
        self._check_hidden_dim(hidden_dim, f"inputs_shape={inputs_shape}")
        self._hidden_dim = hidden_dim
        head_dim = hidden_dim // self.num_heads
        policy = self.dtype_policy
        projected_shape = (*inputs_shape[:-1], self.num_heads, head_dim)

        self._build_attention_norm(inputs_shape)
        self._query_dense = self._head_projection("query", inputs_shape, bias_axes="nh")
        self._key_dense = self._head_projection("key", inputs_shape, bias_axes=None)
        self._value_dense = self._head_projection("value", inputs_shape, bias_axes="nh")
        self._attention_probs_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="attention_probs_dropout"
        )
        self._output_dense = keras.layers.EinsumDense(
            "btnh,nhd->btd",
            output_shape=(None, hidden_dim),
            bias_axes="d",
            dtype=policy,
            name="attention_output",
        )
        self._output_dense.build(projected_shape)
        self._build_feedforward(inputs_shape)

    def _head_projection(self, name, inputs_shape, bias_axes):
        """A built `EinsumDense` from `(batch, seq, hidden)` to `(batch, seq, heads, head_dim)`."""
        projection = keras.layers.EinsumDense(
            "btd,dnh->btnh",
            output_shape=(None, self.num_heads, inputs_shape[-1] // self.num_heads),
            bias_axes=bias_axes,
            dtype=self.dtype_policy,
            name=name,
        )
        projection.build(inputs_shape)
        return projection

    def initial_cache(self, batch_size, max_length, hidden_dim=None, dtype=None):
        """Returns a zero key/value cache for `call(..., cache=...)`.

        Args:
            batch_size: int (or scalar tensor), the batch size.
            max_length: int, the number of positions the cache holds.
            hidden_dim: int, the hidden size. Defaults to the built size.
            dtype: dtype of the cache. Defaults to the compute dtype.

        Returns:
            Zeros of shape
            `(batch_size, 2, max_length, num_heads, hidden_dim // num_heads)`.
        """
        if hidden_dim is None:
            hidden_dim = self._hidden_dim
        if hidden_dim is None:
            raise ValueError(
                "`hidden_dim` must be given when the layer is not built yet. "
                f"Received: hidden_dim={hidden_dim}"
            )
        self._check_hidden_dim(hidden_dim, f"hidden_dim={hidden_dim}")
        head_dim = hidden_dim // self.num_heads
        return ops.zeros(
            (batch_size, 2, max_length, self.num_heads, head_dim),
            dtype=dtype or self.compute_dtype,
        )

    def _check_cache(self, cache, padding_mask):
        shape = tuple(cache.shape)
        head_dim = self._hidden_dim // self.num_heads
        expected = (None, 2, None, self.num_heads, head_dim)
        if len(shape) != 5 or any(
            e is not None and s is not None and s != e for s, e in zip(shape, expected, strict=True)
        ):
            raise ValueError(
                "`cache` must have shape (batch, 2, max_length, num_heads, head_dim) = "
                f"(batch, 2, max_length, {self.num_heads}, {head_dim}). "
                f"Received: cache.shape={shape}"
            )
        if padding_mask is not None:
            mask_shape = tuple(padding_mask.shape)
            if len(mask_shape) != 2 or (
                mask_shape[1] is not None and shape[2] is not None and mask_shape[1] != shape[2]
            ):
                raise ValueError(
                    "With a `cache`, `padding_mask` must have shape (batch, max_length) "
                    f"= (batch, {shape[2]}). Received: padding_mask.shape={mask_shape}"
                )

    def _attention_mask(self, query_positions, key_positions, padding_mask):
        """Boolean `(batch or 1, 1, queries, keys)` mask of allowed keys."""
        query_positions = ops.expand_dims(query_positions, axis=1)
        key_positions = ops.expand_dims(key_positions, axis=0)
        allowed = ops.expand_dims(ops.less_equal(key_positions, query_positions), axis=0)
        if padding_mask is not None:
            padding_mask = ops.cast(padding_mask, "bool")
            allowed = ops.logical_and(allowed, ops.expand_dims(padding_mask, axis=1))
        # Every position may attend to itself, so no row is empty (no NaN).
        itself = ops.expand_dims(ops.equal(key_positions, query_positions), axis=0)
        return ops.expand_dims(ops.logical_or(allowed, itself), axis=1)

    def _self_attention(self, x, padding_mask, cache, cache_update_index, training):
        query = self._query_dense(x)
        key = self._key_dense(x)
        value = self._value_dense(x)
        seq_len = ops.shape(x)[1]

        new_cache = None
        if cache is None:
            start = 0
            num_keys = seq_len
        else:
            start = ops.cast(cache_update_index, "int32")
            update = ops.cast(ops.stack([key, value], axis=1), cache.dtype)
            new_cache = ops.slice_update(cache, [0, 0, start, 0, 0], update)
            key = ops.cast(new_cache[:, 0], self.compute_dtype)
            value = ops.cast(new_cache[:, 1], self.compute_dtype)
            num_keys = ops.shape(new_cache)[2]

        query_positions = start + ops.arange(seq_len, dtype="int32")
        key_positions = ops.arange(num_keys, dtype="int32")
        allowed = self._attention_mask(query_positions, key_positions, padding_mask)

        head_dim = self._hidden_dim // self.num_heads
        query = query * ops.cast(1.0 / math.sqrt(head_dim), query.dtype)
        scores = ops.cast(ops.einsum("btnh,bsnh->bnts", query, key), "float32")
        scores = ops.where(allowed, scores, _LARGE_NEGATIVE)
        # A plain stable softmax: `ops.softmax` warns when only one key exists.
        scores = scores - ops.max(scores, axis=-1, keepdims=True)
        weights = ops.exp(scores)
        weights = weights / ops.sum(weights, axis=-1, keepdims=True)
        weights = ops.cast(weights, self.compute_dtype)
        weights = self._attention_probs_dropout(weights, training=training)
        context = ops.einsum("bnts,bsnh->btnh", weights, value)
        return self._output_dense(context), new_cache

    def call(
        self,
        inputs,
        padding_mask=None,
        cache=None,
        cache_update_index=None,
        training=None,
        mask=None,
    ):
        if (cache is None) != (cache_update_index is None):
            raise ValueError(
                "`cache` and `cache_update_index` must be given together. "
                f"Received: cache={'None' if cache is None else 'a tensor'}, "
                f"cache_update_index={cache_update_index}"
            )
        if cache is None:
            if padding_mask is None:
                padding_mask = mask
        else:
            self._check_cache(cache, padding_mask)

        h = self._attention_norm(inputs)
        h, new_cache = self._self_attention(h, padding_mask, cache, cache_update_index, training)
        outputs = self._add_and_feed_forward(inputs, h, training)
        if cache is None:
            return outputs
        return outputs, new_cache

    def compute_output_shape(
        self,
        inputs_shape,
        padding_mask_shape=None,
        cache_shape=None,
        cache_update_index_shape=None,
    ):
        if cache_shape is not None:
            return inputs_shape, cache_shape
        return inputs_shape
