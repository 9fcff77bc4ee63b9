"""The training scheme of a pretrained backbone: frozen, full fine-tuning, or LoRA."""

from core.backbones.hub_preset import freeze_batch_norm


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
      `head_epochs`, then every layer at `learning_rate * fine_tune_factor`,
      batch norm kept in inference mode (its pretrained statistics).

    The task provides:

    - `_backbone_part()`: the layer or nested model holding the backbone;
    - `_head_data(X, y, w)`: the cached inputs of the head (pooled
      features, and whatever else the head adds), returned with the rows'
      targets and weights as `(inputs, y, w)`;
    - `_head_model()`: a model on those inputs that shares the head's layers
      with `model_`, so training it trains the full model's head.
    """

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
        backbone = self._backbone_part()
        backbone.trainable = True
        freeze_batch_norm(backbone)
        tuned = self._train_epochs(
            X_train,
            y_train,
            sample_weight,
            validation,
            loss,
            self.learning_rate * self.fine_tune_factor,
            epochs,
        )
        return {key: [*head.get(key, []), *values] for key, values in tuned.items()}

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
