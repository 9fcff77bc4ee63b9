"""Image classification from arrays or folders, with Grad-CAM explanations."""

import os

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from core.backbones import IMAGE_BACKBONES, build_image_model
from core.backbones.hub_image_model import (
    build_hub_image_model,
    pooled_head,
    preset_image_size,
)
from core.backbones.hub_preset import (
    FINE_TUNE_MODES,
    HubPreset,
    check_fine_tuning,
    enable_lora,
    is_preset,
    require_keras_hub,
)
from core.backbones.image_model import image_augmentation, image_model_parts
from core.estimators import KerasClassifier
from core.estimators.backbone_fine_tuning import BackboneFineTuning
from core.estimators.parameter import Parameter
from core.preprocessing import ImagePreprocessor
from core.preprocessing.image_preprocessor import check_image_size, scan_folder
from core.registry import register_task

# A cosine schedule converges in a set number of optimizer steps more than epochs: about
# 1,000 on the 28 x 28 sets measured (`benchmarks/vision_quality.py`), with 10 to 60 epochs.
AUTO_STEPS = 1000
AUTO_EPOCHS = (10, 60)


@register_task("vision.image_classification")
class ImageClassifier(BackboneFineTuning, KerasClassifier):
    """Classifies images given as arrays, a folder of class sub-folders, or file paths.

    Args:
        backbone: `"cnn"` (a small residual network with batch norm), `"vit"`,
            or a pretrained keras-hub image backbone: a preset name
            (`"efficientnet_b0_ra_imagenet"`, `"dinov2_small"`, ...), a
            `kaggle://` or `hf://` handle, or a local preset folder. A preset
            brings its own image converter (size, scaling, normalisation).
        image_size: `(height, width)` every image is resized to, or `"auto"`:
            the training arrays' own size (at least 16 per side), or the median
            size of the first training files (16 to 64 per side); with a
            preset, its converter's size (224 where it has none).
        augment: random rotation, zoom, translation and contrast (and `flip`)
            during training only.
        flip: None, `"horizontal"`, `"vertical"` or `"horizontal_and_vertical"`;
            off by default because a mirrored digit or letter is another
            class; turn it on for photos, skin lesions, slides.
        rotation: largest rotation, as a fraction of a full turn.
        zoom: largest zoom in or out, as a fraction.
        translation: largest shift, as a fraction of the height and width.
        contrast: largest contrast change, as a fraction.
        widths: CNN channels per stage.
        patch_size: ViT patch side (must divide `image_size`).
        embedding_dim: ViT token size.
        num_layers: ViT transformer blocks.
        num_heads: ViT attention heads.
        dropout: dropout rate.
        learning_rate: AdamW's peak learning rate.
        learning_rate_schedule: `"cosine"` (one warm-up epoch, then a cosine
            decay to zero at `max_epochs`, or at the last epoch `max_time`
            leaves room for) or `"constant"`.
        weight_decay: AdamW weight decay.
        batch_size: images per step, or "auto": 32 below 1,000 images, 64 below
            5,000, else 128 (fewer, larger steps where a CPU epoch is long).
        max_epochs: upper bound on epochs, or `"auto"`: enough epochs for about
            `AUTO_STEPS` (1,000) optimizer steps, between 10 and 60 (12 epochs
            for 12,000 images, 46 for 1,350, 60 for 300).
        patience: epochs without a better validation loss before stopping.
        max_time: seconds the fit may train (None: no limit); when they are spent,
            training stops and the best epoch so far is kept (`stopped_by_time_`).
        validation_fraction: share of images held out for early stopping.
        start_from: None, or the path of a saved ImageClassifier whose
            backbone starts this one; the head trains first with the backbone
            frozen (`head_epochs`), then everything at `learning_rate *
            fine_tune_factor`. Being a parameter, it survives `clone`.
        head_epochs: epochs with the backbone frozen, with `start_from` or a preset.
        fine_tune_factor: learning-rate multiplier after unfreezing.
        fine_tune: how a pretrained backbone (a preset or `start_from`) trains:
            `"full"`: the head first with the backbone frozen (`head_epochs`),
            then every layer at `learning_rate * fine_tune_factor`, batch norm
            kept in inference mode; `"frozen"`: the backbone never trains and
            only the head does, on pooled features computed once per fit
            (fast on a CPU; no augmentation then).
        lora_rank: None, or the rank of low-rank adapters (LoRA) on the
            preset's attention layers: only they and the head train.
        class_weight: None, "balanced" or a dict.
        calibration: None, `"temperature"` or `"isotonic"`: a calibration map fitted
            on the held-out validation rows at the end of `fit` (see `KerasClassifier`).
        precision, jit_compile, distribution, privacy: training options shared
            by every task (mixed precision, XLA, tf.distribute, DP-SGD); see
            `KerasEstimator`.
        random_state: integer seed.
        verbose: 1 shows a progress bar.

    Attributes:
        classes_: class names (sub-folder names for folders), sorted.
        preprocessor_: the fitted `ImagePreprocessor` (image size, channels, scale).
    """

    input_kind = "images"
    adapter_class = ImagePreprocessor
    explanation_kind = "heat_map"
    parameter_checks = {
        "backbone": Parameter.choice(IMAGE_BACKBONES).or_preset(),
        "fine_tune": Parameter.choice(FINE_TUNE_MODES),
        "lora_rank": Parameter.integer(minimum=1).or_value(None),
        "flip": Parameter.choice((None, "horizontal", "vertical", "horizontal_and_vertical")),
        "patch_size": Parameter.integer(minimum=1),
        "head_epochs": Parameter.integer(minimum=0),
        "max_epochs": Parameter.integer(minimum=1).or_value("auto"),
    }

    _target_types = ("binary", "multiclass")

    def __init__(
        self,
        backbone="cnn",
        image_size="auto",
        augment=True,
        flip=None,
        rotation=0.03,
        zoom=0.05,
        translation=0.05,
        contrast=0.1,
        widths=(16, 32, 64),
        patch_size=4,
        embedding_dim=64,
        num_layers=4,
        num_heads=4,
        dropout=0.1,
        learning_rate=2e-3,
        learning_rate_schedule="cosine",
        weight_decay=1e-4,
        batch_size="auto",
        max_epochs="auto",
        patience=6,
        max_time=None,
        validation_fraction=0.1,
        start_from=None,
        head_epochs=3,
        fine_tune_factor=0.1,
        fine_tune="full",
        lora_rank=None,
        class_weight=None,
        calibration=None,
        precision="float32",
        jit_compile=False,
        distribution=None,
        privacy=None,
        random_state=None,
        verbose=0,
    ):
        self._store_parameters(locals())

    # ----------------------------------------------------------------- fit
    # `fit(X, y=None, sample_weight=None, checkpoint_dir=None)` is the template's: X is a
    # folder with one sub-folder of images per class (y None), a list of image files,
    # or an array `(n, h, w)` / `(n, h, w, c)`, uint8 or float, of any size.
    def _training_rows(self, X, y, sample_weight):
        image_size = check_image_size(self.image_size)
        if self._uses_preset():
            self._preset = HubPreset(self.backbone, "image", built_in=IMAGE_BACKBONES)
            image_size = preset_image_size(self._preset.preprocessor().image_converter, image_size)
        self.preprocessor_ = ImagePreprocessor(
            image_size, multiple_of=self.patch_size if self.backbone == "vit" else 1
        )
        rows = self.preprocessor_.validate(X, y, reset=True)
        return rows, rows.n_images, rows.y, sample_weight

    def _fit_inputs(self, rows, rng):
        self.preprocessor_.fit(rows)
        if rows.files is not None:  # Decoded batch by batch in training, never all at once.
            return (rows.files, None), None
        return (None, self.preprocessor_.transform(rows)), None

    def _train(self, inputs, y_encoded, codes, weights, rng, rows=None, start=None):
        """Holdout training; from files, batches are decoded on the fly by `tf.data`."""
        files, images = inputs
        n = len(files) if files is not None else len(images)
        train, val = self._split(n, codes, rng)
        if files is not None:
            train_data = self._file_dataset(files, y_encoded, weights, train, shuffle=True)
            val_data = None if val is None else self._file_dataset(files, y_encoded, weights, val)
            fit_args = (train_data, None, None, val_data)
        else:
            val_data = None if val is None else (images[val], y_encoded[val], weights[val])
            fit_args = (images[train], y_encoded[train], weights[train], val_data)
        self._check_calibration_rows(0 if val is None else len(val))
        self._fit_model(*fit_args, loss=self._task_loss())
        self._fit_calibration(val_data)

    def _uses_preset(self):
        return is_preset(self.backbone, IMAGE_BACKBONES)

    def _check_params(self):
        check_fine_tuning(
            self.fine_tune, self.lora_rank, self._uses_preset() or self.start_from is not None
        )
        size = check_image_size(self.image_size)
        if (
            self.backbone == "vit"
            and size != "auto"
            and (size[0] % self.patch_size or size[1] % self.patch_size)
        ):
            raise ValueError(
                f"`image_size` {size} must be a multiple of `patch_size`={self.patch_size} for "
                "the ViT backbone."
            )

    def _split(self, n, codes, rng):
        n_val = round(self.validation_fraction * n)
        if not self.validation_fraction or n_val < 2 or n - n_val < 2:
            return np.arange(n), None
        try:
            return train_test_split(np.arange(n), test_size=n_val, stratify=codes, random_state=rng)
        except ValueError:  # A class too small to stratify on.
            return train_test_split(np.arange(n), test_size=n_val, random_state=rng)

    def _batch_size(self, n_rows):
        if self.batch_size != "auto":
            return int(self.batch_size)
        return 32 if n_rows < 1000 else 64 if n_rows < 5000 else 128

    def _epoch_limit(self, steps_per_epoch):
        if self.max_epochs != "auto":
            return self.max_epochs
        if not steps_per_epoch:
            return AUTO_EPOCHS[1]
        return int(np.clip(-(-AUTO_STEPS // steps_per_epoch), *AUTO_EPOCHS))

    def _file_dataset(self, files, y_encoded, weights, rows, shuffle=False):
        return self.preprocessor_.dataset(
            [files[i] for i in rows],
            (y_encoded[rows], weights[rows]),
            batch_size=self._batch_size(len(files)),
            shuffle=shuffle,
            seed=0 if self.random_state is None else int(self.random_state),
        )

    def _build_model(self, start=None):
        seed = None if self.random_state is None else int(self.random_state)
        augmentation = []
        if self.augment and not (self._uses_preset() and self.fine_tune == "frozen"):
            augmentation = image_augmentation(
                self.flip, self.rotation, self.zoom, self.translation, self.contrast, seed
            )
        if self._uses_preset():
            model = build_hub_image_model(
                self._preset.backbone(),
                self._preset.preprocessor().image_converter,
                self.preprocessor_.image_size,
                self.preprocessor_.channels_,
                self._n_outputs(),
                dropout=self.dropout,
                augmentation=augmentation,
            )
            if self.lora_rank is not None:
                enable_lora(model, self.lora_rank)
            return model
        return build_image_model(
            self.preprocessor_.image_size,
            self.preprocessor_.channels_,
            self._n_outputs(),
            backbone=self.backbone,
            widths=tuple(self.widths),
            patch_size=self.patch_size,
            embedding_dim=self.embedding_dim,
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            dropout=self.dropout,
            augmentation=augmentation,
        )

    def _train_model(self, X_train, y_train, sample_weight, validation, loss, data_key=None):
        """A pretrained backbone (a preset or `start_from`) trains by `fine_tune` or LoRA."""
        if not self._uses_preset() and self.start_from is None:
            return super()._train_model(X_train, y_train, sample_weight, validation, loss)
        if self.start_from is not None:
            self._copy_start_backbone()
        epochs = self._epoch_limit(self._steps_per_epoch(X_train, y_train))
        return self._train_pretrained(X_train, y_train, sample_weight, validation, loss, epochs)

    def _copy_start_backbone(self):
        source = ImageClassifier.load(self.start_from)
        if (
            source.backbone != self.backbone
            or source.preprocessor_.get_state() != self.preprocessor_.get_state()
        ):
            raise ValueError(
                f"`start_from` model {self.start_from!r} has backbone {source.backbone!r} on "
                f"{source.preprocessor_.get_state()}; this classifier needs backbone "
                f"{self.backbone!r} on {self.preprocessor_.get_state()}."
            )
        backbone = image_model_parts(self.model_).backbone
        backbone.set_weights(image_model_parts(source.model_).backbone.get_weights())

    def _backbone_part(self):
        return image_model_parts(self.model_).backbone

    def _head_model(self):
        return pooled_head(image_model_parts(self.model_).head)[1]

    def _head_data(self, images, y=None, weights=None):
        """Pooled backbone features of images (an array, or a dataset with its targets)."""
        import keras

        parts = image_model_parts(self.model_)
        pool, _ = pooled_head(parts.head)
        features_of = keras.Sequential([parts.backbone, pool])
        if isinstance(images, np.ndarray):
            return features_of.predict(images, batch_size=64, verbose=0), y, weights
        batches = [(features_of(b[0], training=False).numpy(), *b[1:]) for b in images]
        features = np.concatenate([b[0] for b in batches])
        if len(batches[0]) == 1:
            return features, None, None
        y = np.concatenate([b[1].numpy() for b in batches])
        weights = np.concatenate([b[2].numpy() for b in batches])
        return features, y, weights

    def embed(self, X):
        """Pooled backbone features of images, for any scikit-learn model.

        Args:
            X: images, as for `predict`.

        Returns:
            float32 array `(n_images, n_features)`.
        """
        check_is_fitted(self)
        data = self._transform(X)
        if isinstance(data, np.ndarray):
            return self._head_data(data)[0]
        return self._head_data((batch,) for batch in data)[0]

    # ---------------------------------------------------------- prediction
    def _logits(self, X):
        data = self._transform(X)
        if isinstance(data, np.ndarray):
            return self._predict_raw(data)
        return np.concatenate([self._predict_raw(batch.numpy()) for batch in data], axis=0)

    def explain(self, X, target=None):
        """Grad-CAM heat maps from the backbone's last feature map.

        The class score is differentiated with respect to the backbone's
        output feature map (the nested backbone model is called directly, so
        the gradient is that of the real feature map, not of a copy); channel
        weights are the gradients' spatial means; the map is their weighted
        sum, ReLU, resized to the image and scaled to [0, 1].

        Args:
            X: images, as for `predict` (explain is meant for a few images).
            target: class to explain; default the predicted class of each image.

        Returns:
            float array `(n, height, width)` in [0, 1].
        """

        check_is_fitted(self)
        return self._grad_cam(self._loaded_images(X), target)

    def _loaded_images(self, X):
        """Preprocessed images of X as one array (for the few images explained or plotted)."""
        data = self._transform(X)
        return data if isinstance(data, np.ndarray) else np.concatenate([b.numpy() for b in data])

    def _grad_cam(self, images, target=None):
        """Grad-CAM maps of preprocessed images."""
        import tensorflow as tf

        logits = self._predict_raw(images)
        if target is None:
            targets = np.argmax(self._proba_from_logits(logits), axis=1)
        else:
            matches = np.flatnonzero(self.classes_ == target)
            if len(matches) == 0:
                raise ValueError(
                    f"`target` must be one of {self.classes_.tolist()}. Received: target={target!r}"
                )
            targets = np.full(len(images), matches[0])
        parts = image_model_parts(self.model_)
        backbone, head = parts.backbone, parts.head
        # The backbone runs outside the tape: only the head's gradient to the feature map is
        # needed. Recording the backbone too made TensorFlow's oneDNN kernels compute its
        # filter gradients, which abort the process on odd batch sizes (1, 3, 5, ...).
        feature_map = backbone(tf.constant(images), training=False)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(feature_map)
            out = head(feature_map, training=False)[:, 0, :]
            if self.target_type_ == "binary":  # One logit: class 1's score, negated for class 0.
                score = out[:, 0] * tf.constant(np.where(targets == 1, 1.0, -1.0), tf.float32)
            else:
                # The class's logit against the mean of the others: what makes it win the
                # softmax. Its own logit alone can be negative everywhere for a winning
                # class, which would leave an empty map after the ReLU.
                one_hot = tf.one_hot(targets, out.shape[-1])
                others = (1.0 - one_hot) / (out.shape[-1] - 1)
                score = tf.reduce_sum(out * (one_hot - others), axis=-1)
        grads = tape.gradient(score, feature_map).numpy()
        feature_map = feature_map.numpy()
        if feature_map.ndim == 3:  # ViT tokens: back onto the patch grid.
            feature_map, grads = self._token_grid(feature_map), self._token_grid(grads)
        weights = grads.mean(axis=(1, 2), keepdims=True)
        cams = np.maximum((weights * feature_map).sum(axis=-1), 0.0)[..., None]
        cams = tf.image.resize(cams, self.preprocessor_.image_size).numpy()[..., 0]
        peak = cams.max(axis=(1, 2), keepdims=True)
        return np.where(peak > 0, cams / np.where(peak > 0, peak, 1.0), 0.0).astype(np.float32)

    def _token_grid(self, tokens):
        """ViT tokens `(n, tokens, c)` on their patch grid `(n, rows, cols, c)`.

        A pretrained ViT puts a class token (and DINOv2 register tokens) before
        the patches; those leading tokens are dropped.
        """
        height, width = self.preprocessor_.image_size
        if self._uses_preset():  # The patch size is the preset's: read the grid off the count.
            rows = int(np.sqrt(tokens.shape[1] * height / width))
            cols = int(rows * width / height)
        else:
            rows, cols = height // self.patch_size, width // self.patch_size
        patches = tokens[:, tokens.shape[1] - rows * cols :]
        return patches.reshape(len(tokens), rows, cols, tokens.shape[-1])

    def report(self, X, y=None, k=3):
        """Accuracy, balanced accuracy, macro F1, top-k accuracy and the confusion matrix.

        Args:
            X: images; a folder gives its own labels.
            y: labels (None for a folder of class folders).
            k: k of the top-k accuracy.

        Returns:
            dict with `accuracy`, `balanced_accuracy`, `macro_f1`, `top_k_accuracy`,
            `k`, `n` and `confusion_matrix` (DataFrame: rows true, columns predicted).
        """
        from sklearn.metrics import (
            accuracy_score,
            balanced_accuracy_score,
            confusion_matrix,
            f1_score,
            top_k_accuracy_score,
        )

        y = self._labels_for(X, y)
        proba = self.predict_proba(X)
        predicted = self.classes_[np.argmax(proba, axis=1)]
        k = int(min(k, len(self.classes_)))
        scores = proba[:, 1] if len(self.classes_) == 2 else proba
        matrix = confusion_matrix(y, predicted, labels=self.classes_)
        metrics = {
            "n": len(y),
            "accuracy": float(accuracy_score(y, predicted)),
            "balanced_accuracy": float(balanced_accuracy_score(y, predicted)),
            "macro_f1": float(f1_score(y, predicted, average="macro")),
            "k": k,
            "top_k_accuracy": float(
                top_k_accuracy_score(y, scores, k=k, labels=self.classes_)
                if len(self.classes_) > 2
                else accuracy_score(y, predicted)
                if k < 2
                else 1.0
            ),
            "confusion_matrix": pd.DataFrame(matrix, index=self.classes_, columns=self.classes_),
        }
        return self._with_calibration(metrics, X, y)

    def _labels_for(self, X, y):
        if isinstance(X, str | os.PathLike) and y is None:
            _, labels, _ = scan_folder(X)
            return labels
        if y is None:
            raise ValueError("`y` is required unless X is a folder of class folders.")
        return np.asarray(y)

    def plot_explanations(self, X, path=None, n_cols=4, *, ax=None):
        """The images with their Grad-CAM overlays and predicted classes, in a grid.

        Args:
            X: images, as for `predict`.
            path: an image file to write, or None to write nothing.
            n_cols: columns of the grid (when `ax` is None).
            ax: a sequence of matplotlib Axes, one per image (e.g. `axes.ravel()`
                of `plt.subplots`), or None for a new figure.

        Returns:
            The matplotlib Figure.
        """
        from core.plotting import finish_figure, require_matplotlib

        plt = require_matplotlib()
        check_is_fitted(self)
        images = self._loaded_images(X)  # Preprocessed once: shown, explained and predicted.
        heat = self._grad_cam(images)
        predicted = self.classes_[np.argmax(self._proba_from_logits(self._predict_raw(images)), 1)]
        made_here = ax is None
        if made_here:
            n_rows = int(np.ceil(len(images) / n_cols))
            fig, grid = plt.subplots(
                n_rows, n_cols, figsize=(2.2 * n_cols, 2.4 * n_rows), squeeze=False
            )
            axes = list(grid.ravel())
            fig.suptitle("Grad-CAM: where the predicted class was seen")
        else:
            axes = list(np.ravel(ax))
            if len(axes) < len(images):
                raise ValueError(
                    f"`ax` must hold one Axes per image ({len(images)}). Received {len(axes)}."
                )
            fig = axes[0].figure
        for axis in axes:
            axis.axis("off")
        for axis, image, cam, label in zip(axes, images, heat, predicted, strict=False):
            axis.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray")
            axis.imshow(cam, cmap="jet", alpha=0.4, vmin=0.0, vmax=1.0)
            axis.set_title(str(label), fontsize=9)
        return finish_figure(fig, path, made_here)

    def plot_confusion_matrix(self, X, path=None, y=None, *, ax=None):
        """The confusion matrix of X (scikit-learn's `ConfusionMatrixDisplay`).

        Args:
            X: images, as for `report`.
            path: an image file to write, or None to write nothing.
            y: the true classes (None for a folder of class folders).
            ax: the matplotlib Axes to draw into; a new figure when None.

        Returns:
            scikit-learn's `ConfusionMatrixDisplay` (`.figure_`, `.ax_`).
        """
        from sklearn.metrics import ConfusionMatrixDisplay

        from core.plotting import figure_and_axes, finish_figure

        matrix = self.report(X, y)["confusion_matrix"]
        size = (1.6 + 0.6 * len(matrix), 1.2 + 0.6 * len(matrix))
        fig, ax, made_here = figure_and_axes(ax, figsize=size)
        display = ConfusionMatrixDisplay(
            matrix.to_numpy(), display_labels=[str(c) for c in matrix.columns]
        ).plot(ax=ax, cmap="Blues", colorbar=False, xticks_rotation=45)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        finish_figure(fig, path, made_here)
        return display

    # --------------------------------------------------------------- state
    def _export_signature(self):
        from core.export import ImageSignature

        return ImageSignature(self.model_, self.preprocessor_, self._loaded_images)

    def _set_fitted_state(self, state):
        if self._uses_preset():  # keras-hub registers the preset's layers for safe loading.
            require_keras_hub()
        super()._set_fitted_state(state)

    # ---------------------------------------------------------------- demo
    @classmethod
    def demo(cls, sample_data, out_dir):
        """Trains on the `sample_data/vision/shapes` folder; used by `keras-domains demo`.

        Returns:
            dict: a row of the demo's summary table.
        """
        folder = os.path.join(sample_data, "vision", "shapes")
        files, labels, _ = scan_folder(folder)
        train, test = train_test_split(
            np.arange(len(files)), test_size=0.25, stratify=labels, random_state=0
        )
        # Shapes look the same mirrored or turned, so this data set takes flips and full
        # rotations; 100 validation images are too few to stop on, so it trains 60 epochs.
        model = cls(
            random_state=0,
            flip="horizontal_and_vertical",
            rotation=0.5,
            max_epochs=60,
            validation_fraction=0.0,
        ).fit([files[i] for i in train], labels[train])
        path = model.save(os.path.join(out_dir, "vision_image_classification.kdm"))
        reloaded = cls.load(path)
        test_files = [files[i] for i in test]
        reloaded.explain(test_files[:4])
        report = reloaded.report(test_files, labels[test])
        return {
            "data": "vision/shapes (PNG, JPEG)",
            "train_rows": len(train),
            "test_rows": len(test),
            "metric": "accuracy (chance 0.25)",
            "value": report["accuracy"],
            "baseline": "",
        }
