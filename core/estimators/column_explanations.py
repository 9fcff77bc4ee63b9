"""Explanations within the text and image columns of a table: per word, and Grad-CAM maps."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from core.backbones.image_model import image_model_parts
from core.backbones.multimodal_model import multimodal_model_parts
from core.data import count_rows, take_rows

#: Orderings of a note's words averaged by `explain_text`.
WORD_ORDERINGS = 16


class ColumnExplanations:
    """`explain_text` and `explain_image`: a mixin for table tasks (`TableInput`).

    `explain` gives one attribution per column; these look inside one text
    or image column of a multimodal model. The target part supplies
    `_explained(inputs, target)`, as for `explain`.
    """

    def explain_text(self, X, column=None, target=None, n_orderings=WORD_ORDERINGS, seed=0):
        """Per-word attributions within a text column (Shapley values by sampled orderings).

        The words of each row's text are added one at a time in random
        orders, the other columns held fixed; a word's attribution is its
        average change of the prediction. A row's attributions add up to its
        prediction minus its prediction without the text (a missing note).

        Args:
            X: raw rows, as for `predict`.
            column: the text column; may be omitted when there is one.
            target: what to explain, as for `explain`.
            n_orderings: random orders of the words averaged per row.
            seed: seed of the orders.

        Returns:
            list, per row, of `(word, attribution)` pairs in the text's order
            (empty for a missing text).
        """
        check_is_fitted(self)
        pre = self.preprocessor_
        index = self._inner_column(column, pre.text_columns_, "text")
        frame = self._validate_X(X, fitting=False)
        inputs = pre.transform(frame)
        output, targets = self._explained(inputs, target)
        rng = np.random.default_rng(seed)
        explanations = []
        for row, text in enumerate(frame[pre.text_columns_[index]]):
            words = [] if not isinstance(text, str) else text.split()
            if not words:
                explanations.append([])
                continue
            orders = [rng.permutation(len(words)) for _ in range(n_orderings)]
            texts = []
            for order in orders:
                present = np.zeros(len(words), bool)
                texts.append("")
                for k in order:
                    present[k] = True
                    texts.append(
                        " ".join(w for w, keep in zip(words, present, strict=True) if keep)
                    )
            batch = take_rows(inputs, np.full(len(texts), row))
            batch.update(pre.text_arrays(index, texts))
            values = np.asarray(output(self._predict_raw(batch)))[:, targets[row]]
            steps = np.diff(values.reshape(n_orderings, len(words) + 1), axis=1)
            attributions = np.zeros(len(words))
            for order, step in zip(orders, steps, strict=True):
                attributions[order] += step
            explanations.append(
                list(zip(words, (attributions / n_orderings).tolist(), strict=True))
            )
        return explanations

    def explain_image(self, X, column=None, target=None):
        """Grad-CAM heat maps within an image column, averaged over ensemble members.

        Each member's image backbone gives a feature map; its channels are
        weighted by the gradient of the explained prediction (the other
        columns held fixed) and the positive part is upsampled to the image
        size. A row without an image gets a map of zeros.

        Args:
            X: raw rows, as for `predict`.
            column: the image column; may be omitted when there is one.
            target: what to explain, as for `explain`.

        Returns:
            float32 array `(n, height, width)`, each map scaled to a peak of 1.
        """
        import tensorflow as tf

        check_is_fitted(self)
        pre = self.preprocessor_
        index = self._inner_column(column, pre.image_columns_, "image")
        frame = self._validate_X(X, fitting=False)
        inputs = pre.transform(frame)
        output, targets = self._explained(inputs, target)
        parts = multimodal_model_parts(self.model_)
        encoder, head = parts.column_encoder, parts.head
        arrays = self._head_inputs(inputs)
        n_table = len(pre.numeric_columns_) + len(pre.categorical_columns_)
        position = n_table + len(pre.text_columns_) + index
        codes = inputs[f"image_{index}"]
        image_size = pre.image_shapes_[index][0]
        n_members = arrays[0].shape[1]
        picked = tf.one_hot(targets, int(np.asarray(output(self._predict_raw(inputs))).shape[1]))
        maps = np.zeros((count_rows(inputs), *image_size), np.float32)
        for m in range(n_members):
            prefix = f"member_{m}_image_{index}_"
            images, backbone, to_token = _image_path(encoder, index, m, codes)
            # Outside the tape: see `ImageClassifier._grad_cam` (oneDNN, odd batch sizes).
            feature_map = backbone(images, training=False)
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(feature_map)
                token = tf.reshape(to_token(feature_map), (len(codes), -1))
                token = encoder.get_layer(f"{prefix}missing")(token, codes != 0)
                slot = tf.one_hot(position, arrays[0].shape[2])[None, :, None]
                member = tf.one_hot(m, n_members)[None, :, None, None]
                tokens = arrays[0] + member * slot[:, None] * (token[:, None, None, :] - arrays[0])
                head_in = [tokens, *(tf.convert_to_tensor(a) for a in arrays[1:])]
                logits = head(head_in if len(head_in) > 1 else tokens, training=False)
                score = tf.reduce_sum(output(logits) * picked, axis=-1)
            grads = tape.gradient(score, feature_map).numpy()
            feature_map = feature_map.numpy()
            if feature_map.ndim == 3:  # ViT tokens: back onto their patch grid.
                patch = np.sqrt(image_size[0] * image_size[1] / feature_map.shape[1])
                rows = round(image_size[0] / patch)
                feature_map = feature_map.reshape(len(codes), rows, -1, feature_map.shape[-1])
                grads = grads.reshape(feature_map.shape)
            weights = grads.mean(axis=(1, 2), keepdims=True)
            cams = np.maximum((weights * feature_map).sum(axis=-1), 0.0)[..., None]
            maps += tf.image.resize(cams, image_size).numpy()[..., 0] / n_members
        maps[(codes == 0).all(axis=1)] = 0.0
        peak = maps.max(axis=(1, 2), keepdims=True)
        return np.where(peak > 0, maps / np.where(peak > 0, peak, 1.0), 0.0).astype(np.float32)

    def _inner_column(self, column, columns, kind):
        """The index of `column` among the model's text or image columns."""
        if not columns:
            raise ValueError(f"{type(self).__name__} was fitted without {kind} columns.")
        if column is None:
            if len(columns) > 1:
                raise ValueError(
                    f"`column` must name one of the {kind} columns {columns}. Received: None"
                )
            return 0
        if column not in columns:
            raise ValueError(
                f"`column` must be one of the {kind} columns {columns}. Received: {column!r}"
            )
        return columns.index(column)


def _image_path(encoder, index, member, codes):
    """`(images, backbone, to_token)` of an image column for one member: the images its
    backbone reads, the backbone (images -> feature map), and feature map -> token."""
    names = {layer.name for layer in encoder.layers}
    if f"image_{index}_features" in names:  # A frozen preset, shared by the members.
        features = encoder.get_layer(f"image_{index}_features").features
        images = features.get_layer(f"image_{index}_reader")(codes)
        pool = features.get_layer(f"image_{index}_pool")
        project = encoder.get_layer(f"member_{member}_image_{index}_token")
        return images, features.get_layer(f"image_{index}_backbone"), lambda f: project(pool(f))
    prefix = f"member_{member}_image_{index}_"
    images = encoder.get_layer(f"{prefix}reader")(codes)
    image_model = encoder.get_layer(f"{prefix}encoder")
    if "standardize" in [layer.name for layer in image_model.layers]:
        images = image_model.get_layer("standardize")(images)
    parts = image_model_parts(image_model)
    return images, parts.backbone, lambda f: parts.head(f, training=False)
