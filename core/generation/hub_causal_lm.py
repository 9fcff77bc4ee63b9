"""A keras-hub causal LM (backbone and its LM head) as one Keras layer."""

import keras


def causal_lm_class(backbone_class):
    """The keras-hub `CausalLM` task class of a backbone class (`GPT2CausalLM` for GPT-2).

    Raises:
        ValueError: keras-hub has no causal LM task for the backbone.
    """
    import keras_hub

    pending = list(keras_hub.models.CausalLM.__subclasses__())
    while pending:
        task = pending.pop()
        if getattr(task, "backbone_cls", None) is backbone_class:
            return task
        pending += task.__subclasses__()
    raise ValueError(
        f"keras-hub has no causal LM task for {backbone_class.__name__}; `backbone` must be a "
        "causal language model preset."
    )


@keras.saving.register_keras_serializable(package="keras_domains")
class HubCausalLM(keras.layers.Layer):
    """A keras-hub backbone with its language-model head, from token ids to next-token logits.

    It holds the backbone's own keras-hub `CausalLM` task (GPT-2's
    `GPT2CausalLM`, ...) built without a preprocessor and never compiled, so
    that a model around it trains with Keras' own `fit` and saves no
    optimizer of the task's; `task.call_with_cache` serves cached decoding.
    Only the backbone is serialized; the task is rebuilt around it.

    Args:
        backbone: a `keras_hub.models.Backbone` of a causal LM.
        **kwargs: base layer arguments (`name`, `dtype`).

    Call arguments:
        inputs: dict `{"token_ids": int (batch, seq), "padding_mask": (batch, seq)}`.

    Returns:
        Logits `(batch, seq, vocabulary_size)`.
    """

    def __init__(self, backbone, **kwargs):
        super().__init__(**kwargs)
        self.task = causal_lm_class(type(backbone))(
            backbone=backbone, preprocessor=None, compile=False
        )
        self.built = True  # Every weight exists: the backbone's.

    @property
    def backbone(self):
        """The keras-hub backbone."""
        return self.task.backbone

    def call(self, inputs, training=None):
        return self.task(inputs, training=training)

    def compute_output_spec(self, inputs, training=None):
        return self.task.compute_output_spec(inputs)

    def get_config(self):
        return {**super().get_config(), "backbone": keras.layers.serialize(self.backbone)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.layers.deserialize(config["backbone"])
        return cls(**config)


def hub_causal_lm_of(model):
    """The `HubCausalLM` layer of a model (nested at any depth), or None."""
    for layer in getattr(model, "layers", []):
        if isinstance(layer, HubCausalLM):
            return layer
        found = hub_causal_lm_of(layer) if hasattr(layer, "layers") else None
        if found is not None:
            return found
    return None
