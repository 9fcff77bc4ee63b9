"""A built model's parts by attribute, so that no estimator looks layers up by name."""


class ModelParts:
    """The named parts of a model that a backbone builder assembled.

    A builder in `core.backbones` names its sublayers; it also declares
    where each part lives (`{"encoder": ("body", "encoder"), ...}`), and
    `ModelParts` resolves those paths. Estimators then read
    `parts.embedding`, `parts.encoder` or `parts.linear_path` and never
    spell a layer name themselves.

    Args:
        model: a built Keras model.
        paths: `{part: layer name, or a tuple of names through nested models}`.

    Example:
        >>> parts = ModelParts(model, {"encoder": ("body", "encoder")})
        >>> parts.encoder.set_weights(pretrained.get_weights())
    """

    def __init__(self, model, paths):
        self._model = model
        self._paths = dict(paths)

    def __getattr__(self, name):
        paths = self.__dict__.get("_paths", {})
        if name not in paths:
            raise AttributeError(f"The model has no part {name!r}; its parts are {sorted(paths)}.")
        path = paths[name]
        layer = self._model
        for layer_name in (path,) if isinstance(path, str) else path:
            layer = layer.get_layer(layer_name)
        return layer

    def has(self, name):
        """Whether the model has the part `name` (an optional path may be absent).

        Returns:
            bool.
        """
        try:
            getattr(self, name)
        except (AttributeError, ValueError):
            return False
        return True

    def __dir__(self):
        return sorted({*super().__dir__(), *self._paths})
