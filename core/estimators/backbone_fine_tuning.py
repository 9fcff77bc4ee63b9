"""The training scheme of a pretrained backbone: frozen, full fine-tuning, or LoRA."""

import numpy as np

from core.backbones.hub_preset import count_weights, freeze_batch_norm

#: Backbone parameters at which `fine_tune_factor="auto"` is 1 (see `_fine_tune_rate`).
FINE_TUNE_REFERENCE = 300_000


class BackboneFineTuning:
    """Mixin for tasks whose model is a pretrained backbone and a small head.

    `_train_pretrained` trains by the task's `fine_tune` and `lora_rank`:

    - `lora_rank=r`: keras-hub's LoRA adapters on the backbone's attention
      layers (added by the task's `_build_model` with `enable_lora`, their
      second factor zero, so the model starts as pretrained) and the head
      train together at `learning_rate`; every other backbone weight stays
      as pretrained;
    - `fine_tune="frozen"`: the backbone never trains; its pooled features
      are computed once per fit and the head trains on them alone, with
      early stopping (the fast path on a CPU);
    - `fine_tune="full"`: the head first on those cached features for
      `head_epochs`, then every layer at `learning_rate * fine_tune_factor`
      (`"auto"`: smaller for larger backbones, see `_fine_tune_rate`),
      batch norm kept in inference mode (its pretrained statistics).

    The task provides:

    - `_backbone_part()`: the layer or nested model holding the backbone;
    - `_head_data(X, y, w)`: the cached inputs of the head (pooled
      features, and whatever else the head adds), returned with the rows'
      targets and weights as `(inputs, y, w)`;
    - `_head_model()`: a model on those inputs that shares the head's layers
      with `model_`, so training it trains the full model's head.
    """

    def _fine_tune_rate(self):
        """`learning_rate * fine_tune_factor`; an `"auto"` factor scales with the backbone.

        `"auto"` is `sqrt(300,000 / backbone parameters)`, at most 1: about
        0.05 for BERT-base (110 M parameters: 5e-5 from 1e-3, in the 2e-5 to
        5e-5 BERT needs), 0.26 for a 4 M BERT-tiny (2.6e-4) and 1 below
        300,000 parameters. Small encoders fine-tuned at BERT-base's rate
        barely move: on the sample reviews' topics a 0.5 M BERT reached 0.35
        accuracy at 5e-5 and 0.85 at 1e-3 (`benchmarks/pretrained_text.py`).
        """
        factor = self.fine_tune_factor
        if factor == "auto":
            n_weights = count_weights(self._backbone_part().weights)
            factor = min(1.0, float(np.sqrt(FINE_TUNE_REFERENCE / max(n_weights, 1))))
        return self.learning_rate * factor

    def _train_pretrained(self, X_train, y_train, sample_weight, validation, loss, epochs):
        """Trains `model_` by `fine_tune` / `lora_rank`; returns the history of every epoch."""
        if self.lora_rank is not None:  # The adapters were added when the model was built.
            return self._train_epochs(
                X_train, y_train, sample_weight, validation, loss, self.learning_rate, epochs
            )
        frozen = self.fine_tune == "frozen"
        head = self._train_head(
            X_train,
            y_train,
            sample_weight,
            validation if frozen else None,
            loss,
            epochs if frozen else self.head_epochs,
        )
        if frozen:
            return head
        self._unfreeze_backbone(self._backbone_part())
        tuned = self._train_epochs(
            X_train,
            y_train,
            sample_weight,
            validation,
            loss,
            self._fine_tune_rate(),
            epochs,
        )
        return {key: [*head.get(key, []), *values] for key, values in tuned.items()}

    def _unfreeze_backbone(self, backbone):
        """Makes the backbone trainable for full fine-tuning, batch norm kept in inference mode.

        A task extends it to keep other pretrained parts fixed.
        """
        backbone.trainable = True
        freeze_batch_norm(backbone)

    def _train_head(self, X_train, y_train, sample_weight, validation, loss, epochs):
        """Trains the head alone on inputs of the frozen backbone computed once.

        Augmentation and dropout inside the backbone do not apply to cached
        features; the head's own dropout does.
        """
        if not epochs:
            return {}
        self._backbone_part().trainable = False
        inputs, y_train, sample_weight = self._head_data(X_train, y_train, sample_weight)
        if validation is not None:
            parts = validation if isinstance(validation, tuple) else (validation,)
            validation = self._head_data(*parts)
        model = self.model_
        self.model_ = self._head_model()
        try:
            return self._train_epochs(
                inputs,
                y_train,
                sample_weight,
                validation,
                loss,
                self.learning_rate,
                epochs,
                stage="head",
            )
        finally:
            self.model_ = model
