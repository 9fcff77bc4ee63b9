"""keras-hub presets as backbones: loading, kind checks, and preprocessing kept in JSON."""

import base64
import os
import tempfile

#: The install command named when keras-hub is missing.
HUB_HINT = 'pip install "keras-domains[hub]"'

#: What each task needs of a preset: the keras-hub preprocessor class that must fit its
#: backbone, and how the kind reads in an error message.
PRESET_KINDS = {
    "image": ("ImageClassifierPreprocessor", "an image backbone (ResNet, EfficientNet, ViT, ...)"),
    "text": ("TextClassifierPreprocessor", "a text encoder (BERT, DistilBERT, RoBERTa, ...)"),
    "causal_lm": ("CausalLMPreprocessor", "a causal language model (GPT-2, Gemma, Llama, ...)"),
}

#: The fine-tuning modes of a pretrained backbone.
FINE_TUNE_MODES = ("frozen", "full")

# The files of a preset folder that hold its preprocessing (not its weights).
_WEIGHT_FILES = ("model.weights.h5", "task.weights.h5")


def require_keras_hub():
    """Imports keras-hub and returns it.

    Raises:
        ImportError: if keras-hub is not installed; the message names `HUB_HINT`.
    """
    try:
        import keras_hub
    except ImportError as error:
        raise ImportError(
            f"Pretrained keras-hub backbones need keras-hub and tensorflow-text, which are not "
            f"installed. Install them with: {HUB_HINT}"
        ) from error
    return keras_hub


def is_preset(backbone, built_in):
    """Whether a `backbone=` value names a keras-hub preset rather than a built-in backbone.

    Args:
        backbone: the parameter's value.
        built_in: the task's built-in backbone names.

    Returns:
        bool: True for any string (or path) that is not a built-in name.
    """
    if isinstance(backbone, os.PathLike):
        return True
    return isinstance(backbone, str) and backbone not in built_in


class HubPreset:
    """A keras-hub preset given as `backbone=`: a name, a `kaggle://` / `hf://` handle, a folder.

    Loading checks that the preset is of the kind the task needs (an image
    backbone for images, a text encoder for text classification, a causal
    LM for generation) and turns keras-hub's failures into one clear line:
    a name that cannot be fetched offline, a folder that is not a preset, a
    missing or corrupt weights file.

    Args:
        handle: the preset.
        kind: `"image"`, `"text"` or `"causal_lm"`.
        parameter: the estimator parameter it came from, for error messages.
        built_in: the task's own backbone names, for the message of an unknown name.

    Example:
        >>> backbone, preprocessor = HubPreset("./presets/chest_vit", "image").load()
    """

    def __init__(self, handle, kind, parameter="backbone", built_in=()):
        if kind not in PRESET_KINDS:
            raise ValueError(f"`kind` must be one of {tuple(PRESET_KINDS)}. Received: {kind!r}")
        self.handle = os.fspath(handle)
        self.kind = kind
        self.parameter = parameter
        self.built_in = tuple(built_in)

    @property
    def is_folder(self):
        """Whether the handle is a local folder."""
        return os.path.isdir(self.handle)

    def preprocessor(self):
        """Loads the preset's preprocessor (once), checking that the preset is of the task's kind.

        Returns:
            The keras-hub preprocessor of the task kind (its tokenizer and
            sequence length, or its image converter).

        Raises:
            ImportError: keras-hub is not installed.
            ValueError: the preset is of another kind, not a preset, or cannot be
                reached; the message names the preset and what was expected.
        """
        if getattr(self, "_preprocessor", None) is not None:
            return self._preprocessor
        keras_hub = require_keras_hub()
        self._check_folder()
        preprocessor_class = getattr(keras_hub.models, PRESET_KINDS[self.kind][0])
        try:
            self._preprocessor = preprocessor_class.from_preset(self.handle)
            return self._preprocessor
        except ValueError as error:
            if "Unable to find a subclass" not in str(error):
                raise self._load_error(error) from error
            raise ValueError(
                f"`{self.parameter}`={self.handle!r} is not {PRESET_KINDS[self.kind][1]}, which "
                f"this task needs ({error})."
            ) from error
        except Exception as error:  # keras-hub raises many types for an unreachable preset.
            raise self._load_error(error) from error

    def backbone(self, load_weights=True):
        """Loads the preset's backbone (call `preprocessor()` first: it checks the kind).

        Args:
            load_weights: False builds the backbone with random weights.

        Returns:
            A `keras_hub.models.Backbone`.
        """
        keras_hub = require_keras_hub()
        try:
            return keras_hub.models.Backbone.from_preset(self.handle, load_weights=load_weights)
        except Exception as error:
            raise self._load_error(error) from error

    def load(self, load_weights=True):
        """`(backbone, preprocessor)` of the preset; see `preprocessor` and `backbone`."""
        preprocessor = self.preprocessor()
        return self.backbone(load_weights), preprocessor

    def _check_folder(self):
        if not self.is_folder:
            if os.path.sep in self.handle or self.handle.startswith("."):
                raise ValueError(
                    f"`{self.parameter}`={self.handle!r} looks like a folder, but no such folder "
                    "exists."
                )
            if "://" not in self.handle and self.handle not in _known_preset_names():
                raise ValueError(
                    f"`{self.parameter}` must be one of {self.built_in}, a keras-hub preset name "
                    "(`keras_hub.models.Backbone.presets` lists them), a kaggle:// or hf:// "
                    f"handle, or a preset folder. Received: {self.parameter}={self.handle!r}"
                )
            return
        if not os.path.isfile(os.path.join(self.handle, "config.json")):
            raise ValueError(
                f"`{self.parameter}`={self.handle!r} is a folder but not a keras-hub preset: "
                "it has no config.json. Write one with `backbone.save_to_preset(folder)`."
            )
        if not os.path.isfile(os.path.join(self.handle, _WEIGHT_FILES[0])):
            raise ValueError(
                f"`{self.parameter}`={self.handle!r} has no weights file {_WEIGHT_FILES[0]!r}; "
                "the preset folder is incomplete."
            )

    def _load_error(self, error):
        if self.is_folder:
            return ValueError(
                f"`{self.parameter}`={self.handle!r}: the preset folder could not be read "
                f"(a missing or corrupt file?). {type(error).__name__}: {error}"
            )
        return ValueError(
            f"`{self.parameter}`={self.handle!r} could not be loaded: no copy is on this machine "
            "and it could not be downloaded. Download it once where there is network (keras-hub "
            "keeps it in its cache folder, KAGGLEHUB_CACHE or HF_HOME), or save it with "
            "`keras_hub.models.Backbone.from_preset(...).save_to_preset(folder)` and the "
            "preprocessor's `save_to_preset(folder)`, and pass the folder "
            f"({type(error).__name__})."
        )


def _known_preset_names():
    """The preset names keras-hub knows without the network."""
    keras_hub = require_keras_hub()
    return set(keras_hub.models.Backbone.presets)


def preprocessor_state(preprocessor, backbone):
    """The files that rebuild a keras-hub preprocessor, as JSON-ready text.

    The preprocessor is written as a preset (its config, its tokenizer's
    vocabulary or its image converter's settings, and the backbone's config
    that picks the preprocessor class), without weights.

    Returns:
        dict `{relative path: base64 text}`.
    """
    with tempfile.TemporaryDirectory() as folder:
        backbone_config_only(backbone, folder)
        preprocessor.save_to_preset(folder)
        files = {}
        for root, _, names in os.walk(folder):
            for name in names:
                if name in _WEIGHT_FILES:
                    continue
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    files[os.path.relpath(path, folder)] = base64.b64encode(f.read()).decode()
    return files


def preprocessor_from_state(files, kind):
    """Rebuilds a preprocessor from `preprocessor_state`'s files, offline.

    Returns:
        The keras-hub preprocessor of the task kind.
    """
    keras_hub = require_keras_hub()
    with tempfile.TemporaryDirectory() as folder:
        for relative, text in files.items():
            path = os.path.join(folder, relative)
            if os.path.commonpath([folder, os.path.abspath(path)]) != folder:
                raise ValueError(f"A preprocessor file points outside its folder: {relative!r}")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(base64.b64decode(text))
        return getattr(keras_hub.models, PRESET_KINDS[kind][0]).from_preset(folder)


def backbone_config_only(backbone, folder):
    """Writes a backbone's `config.json` (no weights) into a folder, as `save_to_preset` does.

    The preprocessor classes are looked up from this file's backbone class.
    """
    import json

    import keras

    config = keras.saving.serialize_keras_object(backbone)
    for key in ("compile_config", "build_config"):
        config.pop(key, None)
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f)


def check_fine_tuning(
    fine_tune, lora_rank, pretrained, sources="a keras-hub preset or `start_from`"
):
    """Checks `fine_tune` and `lora_rank` against whether the backbone is pretrained.

    Args:
        fine_tune: `"full"` or `"frozen"`.
        lora_rank: None or a positive rank.
        pretrained: whether the backbone starts from trained weights (a preset,
            a saved model or a pretraining file).
        sources: what makes this task's backbone pretrained, for the message.

    Raises:
        ValueError: naming the parameter and what it needs.
    """
    if lora_rank is not None and fine_tune == "frozen":
        raise ValueError(
            f"`lora_rank`={lora_rank} trains adapters inside the backbone, which "
            "`fine_tune='frozen'` keeps fixed; give one or the other."
        )
    if not pretrained and (fine_tune != "full" or lora_rank is not None):
        raise ValueError(
            "`fine_tune='frozen'` and `lora_rank` apply to a pretrained backbone "
            f"({sources}). Received: fine_tune={fine_tune!r}, lora_rank={lora_rank!r} "
            "with a backbone trained from scratch."
        )


def hub_backbone_of(model):
    """The keras-hub `Backbone` inside a model (nested at any depth), or None."""
    keras_hub = require_keras_hub()
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras_hub.models.Backbone):
            return layer
        found = hub_backbone_of(layer) if hasattr(layer, "layers") else None
        if found is not None:
            return found
    return None


def enable_lora(model, rank):
    """Enables LoRA of `rank` on the keras-hub backbone inside `model`.

    keras-hub freezes the backbone and adds trainable low-rank adapters to
    its attention query and value projections; their biases stay frozen too.

    Raises:
        ValueError: the backbone has no layer LoRA can adapt (a convolutional network).
    """
    backbone = hub_backbone_of(model)
    if backbone is None:
        raise ValueError("`lora_rank` needs a keras-hub backbone; this model has none.")
    targets = backbone.default_lora_layer_names()
    # keras-hub's own walk over the backbone's layers, as its `enable_lora` does.
    adapted = [
        layer
        for layer in backbone._flatten_layers(include_self=False)
        if layer.name in targets and hasattr(layer, "enable_lora")
    ]
    if not adapted:
        raise ValueError(
            f"`lora_rank`={rank}: {type(backbone).__name__} has no attention layers "
            f"({', '.join(targets)}) for LoRA to adapt; use fine_tune='full' or 'frozen'."
        )
    backbone.enable_lora(rank)
    # keras-hub leaves the adapted projections' biases trainable; LoRA trains the adapters only.
    for layer in adapted:
        if getattr(layer, "bias", None) is not None:
            layer.bias.trainable = False


def freeze_batch_norm(model):
    """Keeps every batch-norm layer of `model` in inference mode (fixed statistics) while training.

    Fine-tuning a pretrained network on a few images with batch statistics
    would overwrite the statistics it was trained with.
    """
    import keras

    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def count_weights(weights):
    """Number of scalars in a list of Keras variables."""
    import numpy as np

    return int(sum(np.prod(w.shape) for w in weights))
