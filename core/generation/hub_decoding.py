"""Next-token logits of a keras-hub causal LM, with its key/value cache or without."""

import keras
import numpy as np
from keras import ops

from core.backbones.causal_lm_model import FullDecoding, kept_tokens
from core.generation.hub_causal_lm import hub_causal_lm_of


def _compiled(function):
    if keras.backend.backend() != "tensorflow":
        return function
    import tensorflow as tf

    return tf.function(function, reduce_retracing=True)


def _row_logits(logits):
    """Logits over row ids (the preset's ids plus one): row id 0, padding, is never chosen."""
    logits = np.asarray(ops.convert_to_numpy(ops.cast(logits, "float32")), dtype=np.float64)
    return np.concatenate([[-np.inf], logits])


class HubCachedDecoding:
    """Next-token logits of a keras-hub causal LM through its own key/value cache.

    The interface of `core.backbones.causal_lm_model.CachedDecoding`, on
    row ids (the preset's ids plus one, 0 being padding). `start` fills the
    cache with the prompt (keras-hub's `_build_cache` over the prompt padded
    to the context; causal attention keeps the padding out of it) and each
    `advance` runs one token with `call_with_cache`, as keras-hub's own
    `generate` does. When the context is full, the cache is rebuilt from
    the last half of the tokens.

    Args:
        model: a model that holds a `HubCausalLM` layer.
        max_length: the context in tokens.
    """

    def __init__(self, model, max_length):
        self.model = model
        self.max_length = int(max_length)
        layer = hub_causal_lm_of(model)
        self._lm = None if layer is None else layer.task
        if self._lm is None or not hasattr(self._lm, "call_with_cache"):
            raise ValueError(
                "Cached decoding needs a keras-hub CausalLM with `call_with_cache`; this model "
                "has none. Use use_cache=False."
            )
        self._build = _compiled(lambda ids: self._lm._build_cache(ids)[1])
        self._step = _compiled(
            lambda ids, cache, index: self._lm.call_with_cache(ids, cache, index)
        )
        self._tokens = []
        self._cache = None

    def _run(self, token, index):
        logits, _, self._cache = self._step(
            ops.convert_to_tensor([[token]], "int32"),
            self._cache,
            ops.convert_to_tensor(index, "int32"),
        )
        return _row_logits(logits[0, 0])

    def start(self, prompt_ids):
        """Runs the prompt (a non-empty list of row ids); returns the next token's logits."""
        self._tokens = [int(i) - 1 for i in list(prompt_ids)[-self.max_length :]]
        padded = np.zeros((1, self.max_length), dtype=np.int32)
        padded[0, : len(self._tokens)] = self._tokens
        self._cache = self._build(ops.convert_to_tensor(padded))
        # The last prompt token again, at its own index: its logits, as keras-hub's generate.
        return self._run(self._tokens[-1], len(self._tokens) - 1)

    def advance(self, token_id):
        """Appends one token (a row id); returns the logits of the token after it."""
        if len(self._tokens) >= self.max_length:
            kept = [i + 1 for i in kept_tokens(self._tokens, self.max_length)]
            return self.start([*kept, int(token_id)])
        self._tokens.append(int(token_id) - 1)
        return self._run(self._tokens[-1], len(self._tokens) - 1)


class HubFullDecoding(FullDecoding):
    """Next-token logits by running the whole prefix through the keras-hub model at each step.

    The reference `HubCachedDecoding` is measured against; `start` and
    `advance` (and the context rule) are `FullDecoding`'s, on row ids.

    Args:
        model: a model taking `{"token_ids", "padding_mask"}` to logits.
        max_length: the context in tokens.
    """

    def __init__(self, model, max_length):
        self.model = model
        self.max_length = int(max_length)
        self._call = _compiled(
            lambda ids: model(
                {"token_ids": ids, "padding_mask": ops.ones_like(ids)}, training=False
            )[:, -1, :]
        )
        self._tokens = []

    def _run(self):
        ids = ops.convert_to_tensor([[i - 1 for i in self._tokens]], "int32")
        return _row_logits(self._call(ids)[0])
