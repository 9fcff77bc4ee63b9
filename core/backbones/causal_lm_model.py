"""A decoder-only transformer language model (GPT-style) and its cached decoding step."""

import keras
from keras import ops

from core.layers import TokenAndPositionEmbedding, TransformerDecoder
from core.layers.padding_mask import PaddingMask

EMBEDDING_LAYER = "embedding"
FINAL_NORM = "final_norm"


def decoder_name(i):
    return f"decoder_{i}"


def build_causal_lm_model(
    vocabulary_size,
    sequence_length,
    *,
    embedding_dim=128,
    num_layers=4,
    num_heads=4,
    intermediate_dim=512,
    dropout=0.1,
    name="causal_lm",
):
    """Builds `token ids -> causal decoder blocks -> next-token logits`.

    Token and position embeddings, `num_layers` pre-norm `TransformerDecoder`
    blocks (each position attends to itself and earlier positions), a final
    layer norm, and the token embedding transposed as the output layer.

    Args:
        vocabulary_size: token ids (0 is padding).
        sequence_length: the context length.
        embedding_dim: model width.
        num_layers: decoder blocks.
        num_heads: attention heads.
        intermediate_dim: feed-forward width.
        dropout: dropout rate.
        name: model name.

    Returns:
        A `keras.Model` from int token ids `(batch, seq)` (seq <=
        `sequence_length`) to logits `(batch, seq, vocabulary_size)`.
    """
    ids = keras.Input((None,), dtype="int32", name="token_ids")
    embedding = TokenAndPositionEmbedding(
        vocabulary_size, sequence_length, embedding_dim, mask_zero=False, name=EMBEDDING_LAYER
    )
    x = embedding(ids)
    mask = PaddingMask(name="padding_mask")(ids)
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    for i in range(num_layers):
        x = TransformerDecoder(
            intermediate_dim=intermediate_dim,
            num_heads=num_heads,
            dropout=dropout,
            name=decoder_name(i),
        )(x, padding_mask=mask)
    x = keras.layers.LayerNormalization(name=FINAL_NORM)(x)
    # The output layer is the token embedding, transposed (tied weights, as in GPT-2).
    logits = embedding(x, reverse=True)
    return keras.Model(ids, logits, name=name)


class CachedDecoding:
    """Next-token logits with a key/value cache: the prefix is never recomputed.

    `start(prompt_ids)` runs the prompt once and caches every block's keys
    and values; each `advance(token_id)` runs only the new token, attending
    to the cache. One compiled graph (TensorFlow) serves the prompt and every
    later step, whatever their lengths. When the context is full, the cache
    is rebuilt from the last half of the tokens.

    Args:
        model: a model from `build_causal_lm_model`.
    """

    def __init__(self, model):
        self.model = model
        self.embedding = model.get_layer(EMBEDDING_LAYER)
        self.blocks = [layer for layer in model.layers if layer.name.startswith(decoder_name(""))]
        self.norm = model.get_layer(FINAL_NORM)
        self.max_length = self.embedding.sequence_length
        self._step = self._compile()
        self._tokens = []
        self._cache = None

    def _initial_cache(self):
        return ops.stack([b.initial_cache(1, self.max_length) for b in self.blocks], axis=0)

    def _step_eager(self, ids, index, cache):
        tokens = self.embedding.token_embeddings(ids)
        positions = ops.slice(
            self.embedding.position_embeddings,
            (index, 0),
            (ops.shape(ids)[1], self.embedding.embedding_dim),
        )
        x = tokens + ops.cast(positions, tokens.dtype)[None]
        new_cache = []
        for layer_cache, block in zip(ops.unstack(cache, axis=0), self.blocks, strict=True):
            x, layer_cache = block(x, cache=layer_cache, cache_update_index=index)
            new_cache.append(layer_cache)
        logits = self.embedding(self.norm(x[:, -1:, :]), reverse=True)[:, 0, :]
        return logits, ops.stack(new_cache, axis=0)

    def _compile(self):
        if keras.backend.backend() != "tensorflow":
            return self._step_eager
        import tensorflow as tf

        shape = self._initial_cache().shape
        return tf.function(
            self._step_eager,
            input_signature=[
                tf.TensorSpec((1, None), tf.int32),
                tf.TensorSpec((), tf.int32),
                tf.TensorSpec(shape, tf.float32),
            ],
        )

    def _run(self, ids, index):
        logits, self._cache = self._step(
            ops.convert_to_tensor([ids], "int32"),
            ops.convert_to_tensor(index, "int32"),
            self._cache,
        )
        return ops.convert_to_numpy(logits)[0]

    def start(self, prompt_ids):
        """Runs the prompt (a non-empty list of ids); returns the next token's logits."""
        self._tokens = list(prompt_ids)[-self.max_length :]
        self._cache = self._initial_cache()
        return self._run(self._tokens, 0)

    def advance(self, token_id):
        """Appends one token; returns the logits of the token after it."""
        if len(self._tokens) >= self.max_length:
            return self.start([*kept_tokens(self._tokens, self.max_length), token_id])
        self._tokens.append(int(token_id))
        return self._run([int(token_id)], len(self._tokens) - 1)


class FullDecoding:
    """Next-token logits by running the whole prefix through the model at each step.

    The reference that `CachedDecoding` is measured against, with the same
    `start` / `advance` interface and the same context rule; one compiled
    graph serves every prefix length.

    Args:
        model: a model from `build_causal_lm_model`.
    """

    def __init__(self, model):
        self.model = model
        self.max_length = model.get_layer(EMBEDDING_LAYER).sequence_length
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            self._call = tf.function(
                lambda ids: model(ids, training=False)[:, -1, :],
                input_signature=[tf.TensorSpec((1, None), tf.int32)],
            )
        else:
            self._call = lambda ids: model(ids, training=False)[:, -1, :]
        self._tokens = []

    def _run(self):
        ids = ops.convert_to_tensor([self._tokens], "int32")
        return ops.convert_to_numpy(self._call(ids))[0]

    def start(self, prompt_ids):
        """Runs the prompt (a non-empty list of ids); returns the next token's logits."""
        self._tokens = list(prompt_ids)[-self.max_length :]
        return self._run()

    def advance(self, token_id):
        """Appends one token; returns the logits of the token after it."""
        if len(self._tokens) >= self.max_length:
            self._tokens = kept_tokens(self._tokens, self.max_length)
        self._tokens.append(int(token_id))
        return self._run()


def kept_tokens(tokens, max_length):
    """The tokens kept when the context is full: with the next one, `max_length // 2` in all."""
    # Not `tokens[-(max_length // 2 - 1):]`: for a context of 2 or 3 that is `tokens[-0:]`, all.
    return tokens[len(tokens) - max(max_length // 2 - 1, 0) :]
