"""One model behind the HTTP server: request bodies in, the estimator's answers out as JSON."""

import asyncio
import base64
import binascii
import contextlib
import io
import json
import math
import os
import re
import struct
import tempfile
import uuid

import numpy as np
import pandas as pd
from sklearn.base import is_regressor
from sklearn.utils.validation import check_is_fitted

from core.persistence.metadata import jsonable
from core.serving.micro_batcher import MicroBatcher
from core.serving.request_schema import (
    explanation_kind,
    input_kind,
    request_models,
    row_columns,
)

# Input kinds whose predict requests are gathered into one model call. The others are
# not: transactions and events read each other's rows (an account's history, a
# patient's visits), so rows of different requests must never meet in one call.
BATCHED_KINDS = ("table", "texts")
_NPY_MAGIC = b"\x93NUMPY"
# Largest image accepted, in pixels: a small compressed file can decode to gigabytes.
MAX_IMAGE_PIXELS = 4096 * 4096
# Decimals of a Grad-CAM heat map in JSON; the maps are in [0, 1].
_HEATMAP_DECIMALS = 4
# Miss rate of the prediction intervals a regressor's answers carry.
INTERVAL_ALPHA = 0.1


class ServedModel:
    """A fitted estimator as the server uses it.

    Builds the model's request classes from its declared `input_kind` and
    `explanation_kind` and its `input_schema()`, turns a validated request
    into the estimator's input (a DataFrame, texts, images), calls the
    estimator in a worker thread, and turns the answer into plain JSON
    values. Predict requests of tables and texts go through a `MicroBatcher`.

    Args:
        name: the name the model is served under.
        estimator: a fitted keras-domains estimator (usually from `load`).
        title: unique CamelCase prefix for the request classes' names.
        executor: executor for predictions (and micro-batches).
        slow_executor: executor for explanations and generation, so that
            they never hold up predictions.
        max_batch: most rows (texts, images) per predict request, and per micro-batch.
        max_explain: most rows per explain request.
        batch_wait_s: longest a request waits for others to share its model
            call; 0 turns micro-batching off.

    Attributes:
        kind: the input kind, one of `request_schema.INPUT_KINDS`.
        explains: the explanation kind (`request_schema.EXPLANATION_KINDS`),
            or None.
        schema: the estimator's `input_schema()`.
        numeric_columns: the row columns a request sends as numbers.
        metadata: the metadata saved with the model.
        predict_model: the pydantic class of a predict request body.
        explain_model: that of an explain request body (None: no explanations).
        batcher: the model's `MicroBatcher`, or None.
    """

    def __init__(
        self,
        name,
        estimator,
        title,
        executor,
        slow_executor,
        max_batch=1000,
        max_explain=100,
        batch_wait_s=0.002,
        image_paths=False,
    ):
        self.name = name
        self.image_paths = bool(image_paths)
        self.estimator = estimator
        self.kind = input_kind(estimator)
        self.explains = explanation_kind(estimator, self.kind)
        check_is_fitted(estimator)
        schema = estimator.input_schema()
        self.schema = schema
        self.max_batch = max_batch
        self.regressor = is_regressor(estimator)
        self.survival = hasattr(estimator, "predict_survival_function")
        classifier = self.kind != "generation" and not (self.regressor or self.survival)
        self.classes = jsonable(estimator.classes_) if classifier else None
        self._class_keys = [str(c) for c in self.classes] if classifier else None
        self._multilabel = classifier and estimator.target_type_ == "multilabel-indicator"
        self._points = self.explains == "reason_codes"
        # A loaded model has the metadata saved with it; a fresh one gets what `save` writes.
        self.metadata = getattr(estimator, "metadata_", None) or {
            "task": estimator.task_name,
            "input_schema": schema,
            "classes": self.classes,
        }
        self.task = self.metadata.get("task")
        self.predict_model, self.explain_model, row = request_models(
            title, self.kind, schema, estimator, max_batch, max_explain
        )
        self._executor, self._slow_executor = executor, slow_executor
        self._columns = None if row is None else row_columns(row)
        numeric = _numeric_columns(self.kind, schema)
        self._numeric = {field for field, column in self._columns or () if column in numeric}
        self._column_names = [column for _, column in self._columns or ()]
        self.numeric_columns = [c for f, c in self._columns or () if f in self._numeric]
        self._image_columns = (
            [
                item["name"]
                for item in schema or ()
                if isinstance(item, dict) and item.get("kind") == "image"
            ]
            if self.kind == "table"
            else []
        )
        self._requests = self._rows = self._calls = 0
        self.batcher = None
        if self.kind in BATCHED_KINDS and batch_wait_s > 0:
            self.batcher = MicroBatcher(self._predict_parts, executor, max_batch, batch_wait_s)

    # ------------------------------------------------------------ lifecycle
    async def start(self):
        """Starts the micro-batcher and traces the model's inference function."""
        if self.batcher is not None:
            await self.batcher.start()
        await asyncio.get_running_loop().run_in_executor(self._executor, self._warm_up)

    async def stop(self):
        if self.batcher is not None:
            await self.batcher.stop()

    def _warm_up(self):
        """Traces the compiled inference function now, not on the first request."""
        if self.kind != "generation":
            self.estimator.warm_up()

    def info(self):
        """The model as `GET /v1/models` lists it."""
        endpoints = [f"/v1/models/{self.name}/predict"]
        if self.explain_model is not None:
            endpoints.append(f"/v1/models/{self.name}/explain")
        endpoints.append(f"/v1/models/{self.name}/metadata")
        return {
            "name": self.name,
            "task": self.task,
            "input": self.kind,
            "classes": self.classes,
            "endpoints": endpoints,
            "stats": self.stats(),
        }

    def stats(self):
        """Predict requests and rows answered, and the model calls they took."""
        calls = self._calls + (0 if self.batcher is None else self.batcher.calls)
        return {
            "predict_requests": self._requests,
            "predict_rows": self._rows,
            "model_calls": calls,
        }

    # --------------------------------------------------------------- predict
    async def predict(self, body):
        """Answers a validated predict request.

        Returns:
            The response body as a dict of JSON values.

        Raises:
            ValueError, TypeError: the estimator's own message for bad input.
        """
        if self.kind == "generation":
            params = body.model_dump()
            prompt = params.pop("prompt")
            text = await self._run(self._slow_executor, self.estimator.generate, prompt, **params)
            return {"model": self.name, "task": self.task, "text": text}
        alpha = getattr(body, "alpha", None)
        sets = None
        if alpha is not None:
            self._calls += 1
            proba, sets = await self._run(self._executor, self._predict_sets, body, alpha)
            ids = None
        elif self.kind in BATCHED_KINDS:
            payload = body.rows if self.kind == "table" else body.texts
            if self.batcher is not None:
                proba = await self.batcher.submit(payload, len(payload))
            else:
                self._calls += 1
                (proba,) = await self._run(self._executor, self._predict_parts, [payload])
            ids = None
        else:
            self._calls += 1
            proba, ids = await self._run(self._executor, self._predict_one, body)
        self._requests += 1
        self._rows += len(proba)
        return {
            "model": self.name,
            "task": self.task,
            "predictions": self._predictions(proba, ids, sets),
        }

    def _predict_parts(self, parts):
        """Probabilities for several requests' rows (or texts) in one call, split back."""
        rows = [row for part in parts for row in part]
        if self.kind != "table":
            proba = self.estimator.predict_proba(rows)
        else:
            proba = self._table_proba(rows)
        return np.split(proba, np.cumsum([len(part) for part in parts])[:-1])

    def _table_proba(self, rows):
        """`predict_proba` of validated rows, through `predict_proba_values` when it can.

        A regressor's answer per row is its predictions, then its interval
        bounds (NaN without held-out rows), side by side in one array; a
        survival model's is its risk, median time and survival at each time
        of its grid (the risk as `predict_risk` computes it from that grid).
        """
        if not (self.survival or self.regressor):
            # A pydantic instance's __dict__ holds its field values, in column order.
            values = [tuple(row.__dict__.values()) for row in rows]
            proba = self.estimator.predict_proba_values(values, self._column_names)
            if proba is not None:
                return proba
        # A value that needs the DataFrame path's checks and messages, or texts and images.
        with self._table_frame(rows) as frame:
            if self.survival:
                risk, median, survival = self.estimator.predict_with_curve(frame)
                return np.column_stack([risk, median, survival])
            if not self.regressor:
                return self.estimator.predict_proba(frame)
            predictions, bounds = self.estimator.predict_with_interval(frame, alpha=INTERVAL_ALPHA)
        predictions = predictions.reshape(len(rows), -1)
        if bounds is None:
            bounds = np.full((len(rows), 2 * predictions.shape[1]), np.nan)
        return np.hstack([predictions, bounds.reshape(len(rows), -1)])

    def _predict_sets(self, body, alpha):
        """`(probabilities, label sets)` of a table, texts or images request that sent `alpha`.

        Not micro-batched: `predict_set` takes the members' own probabilities.
        """
        estimator = self.estimator
        if self.kind == "texts":
            return estimator.predict_proba(body.texts), estimator.predict_set(body.texts, alpha)
        if self.kind == "images":
            images = _decode_images(body.images)
            proba = _by_shape(estimator.predict_proba, images)
            return proba, _by_shape(lambda x: estimator.predict_set(x, alpha), images)
        with self._table_frame(body.rows) as frame:
            return estimator.predict_proba(frame), estimator.predict_set(frame, alpha)

    def _predict_one(self, body):
        """`(probabilities, ids or None)` of a transactions, events or images request."""
        estimator = self.estimator
        if self.kind == "images":
            return _by_shape(estimator.predict_proba, _decode_images(body.images)), None
        frame = self._frame(body.rows)
        if self.kind == "transactions":
            history = None if body.history is None else self._frame(body.history)
            return estimator.predict_proba(frame, history=history), None
        # Events: one prediction per entity (patient), labelled by the estimator's output_index.
        proba = estimator.predict_proba(frame, prediction_time=body.prediction_time)
        return proba, estimator.output_index(frame)

    def _predictions(self, proba, ids=None, sets=None):
        if self.regressor:
            return self._values(proba)
        if self.survival:
            grid = [f"{t:g}" for t in self.estimator.time_grid_]
            return [
                {
                    "risk": row[0],
                    "median_time": row[1] if math.isfinite(row[1]) else None,
                    "survival": dict(zip(grid, row[2:], strict=True)),
                }
                for row in proba.tolist()
            ]
        keys = self._class_keys
        predictions = []
        for k, row in enumerate(proba.tolist()):
            if self._multilabel:
                label = [int(p >= 0.5) for p in row]
            else:
                label = self.classes[max(range(len(row)), key=row.__getitem__)]
            item = {"label": label, "probabilities": dict(zip(keys, row, strict=True))}
            if self._points:
                item["points"] = self._points_of(row[1])
            if sets is not None:
                kept = sets[k]
                item["label_set"] = [c for c, keep in zip(self.classes, kept, strict=True) if keep]
            if ids is not None:
                item = {str(ids.name): jsonable(ids[k]), **item}
            predictions.append(item)
        return predictions

    def _values(self, answers):
        """A regressor's predictions and intervals as JSON, per row."""
        names = self.estimator.target_names_
        n_targets = len(names)
        predictions = []
        for row in answers.tolist():
            values, bounds = row[:n_targets], row[n_targets:]
            intervals = [bounds[2 * t : 2 * t + 2] for t in range(n_targets)]
            if math.isnan(bounds[0]):
                intervals = None
            if n_targets == 1:
                item = {"value": values[0], "interval": None if intervals is None else intervals[0]}
            else:
                item = {
                    "value": dict(zip(names, values, strict=True)),
                    "interval": None
                    if intervals is None
                    else dict(zip(names, intervals, strict=True)),
                }
            predictions.append(item)
        return predictions

    def _points_of(self, p_default):
        """Scorecard points of one probability of default, as `RiskScorer.points` computes them."""
        p = min(max(p_default, 1e-9), 1 - 1e-9)
        estimator = self.estimator
        return estimator.offset_ + estimator.factor_ * math.log((1.0 - p) / p)

    # --------------------------------------------------------------- explain
    async def explain(self, body):
        """Answers a validated explain request.

        Returns:
            The response body as a dict of JSON values: the estimator's
            explanation per row (patients, texts, images).
        """
        content = await self._run(self._slow_executor, self._explain, body)
        return {"model": self.name, "task": self.task, **content}

    def _explain(self, body):
        estimator, explains = self.estimator, self.explains
        if explains == "tokens":
            pairs = estimator.explain(body.texts, level=body.level)
            return {
                "explanations": [
                    {"tokens": [{"token": t, "attribution": a} for t, a in text]} for text in pairs
                ]
            }
        if explains == "heat_map":
            maps = _by_shape(estimator.explain, _decode_images(body.images)).astype(np.float64)
            return {
                "explanations": [{"heatmap": np.round(m, _HEATMAP_DECIMALS).tolist()} for m in maps]
            }
        with self._table_frame(body.rows) as frame:
            return self._explain_rows(body, frame)

    def _explain_rows(self, body, frame):
        estimator, explains = self.estimator, self.explains
        if explains == "events":
            attributions = estimator.explain(
                frame, prediction_time=body.prediction_time, level=body.level
            )
            attrs = attributions.attrs
            key = self.schema["events"]["patient_column"]
            patients = [
                {key: jsonable(p), "logit": logit, "baseline": base, "target": target}
                for p, logit, base, target in zip(
                    attrs["patients"], attrs["logit"], attrs["baseline"], attrs["target"],
                    strict=True,
                )
            ]  # fmt: skip
            return {"explanations": _records(attributions), "patients": patients}
        if explains == "reason_codes":
            return {"explanations": _records(estimator.reason_codes(frame, n=body.n_reasons))}
        # Attributions to the columns, of a table's or of transactions' rows.
        if self.kind == "transactions":
            history = None if body.history is None else self._frame(body.history)
            attributions = estimator.explain(frame, history=history)
        else:
            attributions = estimator.explain(frame)
        baseline = attributions.attrs.get("baseline")
        explanations = [{"attributions": record} for record in _records(attributions)]
        if baseline is not None:
            for item, base in zip(explanations, baseline, strict=True):
                item["baseline"] = base
        if self.kind == "table":
            self._explain_parts(frame, explanations)
        return {"explanations": explanations}

    def _explain_parts(self, frame, explanations):
        """Adds, per row, the attributions within each text column and image column.

        `words`: `{column: [{"token", "attribution"}]}` (empty for a missing
        text); `heatmaps`: `{column: Grad-CAM map}` (null for a missing image).
        """
        estimator = self.estimator
        preprocessor = estimator.preprocessor_
        for column in getattr(preprocessor, "text_columns_", None) or []:
            words = estimator.explain_text(frame, column=column)
            for item, pairs in zip(explanations, words, strict=True):
                item.setdefault("words", {})[column] = [
                    {"token": token, "attribution": float(value)} for token, value in pairs
                ]
        for column in getattr(preprocessor, "image_columns_", None) or []:
            maps = estimator.explain_image(frame, column=column).astype(np.float64)
            for item, heatmap, path in zip(explanations, maps, frame[column], strict=True):
                item.setdefault("heatmaps", {})[column] = (
                    np.round(heatmap, _HEATMAP_DECIMALS).tolist() if isinstance(path, str) else None
                )

    # ---------------------------------------------------------------- helpers
    @contextlib.contextmanager
    def _table_frame(self, rows):
        """The DataFrame of table rows, their images (base64, or paths) as files for the call.

        Images sent in a row are written to a temporary folder that is
        removed when the call ends; a path is taken as it is only when the
        server was started with `image_paths` (a server on this machine).
        """
        frame = self._frame(rows)
        if not self._image_columns:
            yield frame
            return
        with tempfile.TemporaryDirectory(prefix="keras-domains-images-") as folder:
            for column in self._image_columns:
                frame[column] = [
                    _image_file(value, folder, f"`{column}` of row {i}", self.image_paths)
                    for i, value in enumerate(frame[column])
                ]
            yield frame

    def _frame(self, rows):
        """A DataFrame of validated rows: numeric columns float (null as NaN), others as sent."""
        columns = {}
        for field, column in self._columns:
            values = [getattr(row, field) for row in rows]
            if field in self._numeric:
                values = np.array(values, dtype=np.float64)
            columns[column] = values
        return pd.DataFrame(columns)

    @staticmethod
    async def _run(executor, function, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, lambda: function(*args, **kwargs))


def _numeric_columns(kind, schema):
    """Names of the columns a request sends as numbers (sent to the estimator as float64)."""
    if kind == "table":
        items = schema
    elif kind == "transactions":
        items = schema["features"]
    elif kind == "events":
        return {schema["events"].get("value_column")} - {None}
    else:
        return set()
    return {item["name"] for item in items if item["kind"] == "numeric"}


def _records(frame):
    """A DataFrame as a list of JSON records (NaN as null, times as ISO 8601)."""
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def _decode_images(images):
    """Images sent as base64 files (PNG, JPEG, BMP, GIF) or .npy arrays, as arrays.

    Raises:
        ValueError: naming the image (`images[i]`) that is not readable.
    """
    import tensorflow as tf

    arrays = []
    for i, text in enumerate(images):
        data = _base64_image(text, f"`images[{i}]`")
        try:
            if data.startswith(_NPY_MAGIC):
                array = np.load(io.BytesIO(data), allow_pickle=False)
            else:
                array = tf.io.decode_image(data, expand_animations=False).numpy()
        except (ValueError, OSError, tf.errors.OpError) as error:
            # TensorFlow wraps its message in the op's name: {{function_node ...}} ... [Op:...]
            reason = re.sub(r"\{\{.*?\}\}|\[Op:\w+\]", "", str(error)).strip() or "unreadable"
            raise ValueError(
                f"`images[{i}]` is not a PNG, JPEG, BMP or GIF file or a .npy array: {reason}"
            ) from None
        arrays.append(array)
    return arrays


#: File extensions of the image formats a table row may send, by their first bytes.
_IMAGE_MAGIC = {
    b"\x89PNG\r\n\x1a\n": ".png",
    b"\xff\xd8": ".jpg",
    b"GIF87a": ".gif",
    b"GIF89a": ".gif",
    b"BM": ".bmp",
}


def _image_file(value, folder, label, image_paths):
    """The file a row's image field names: a base64 image written into `folder`, or a path.

    Args:
        value: the field's value: None or "" (no image), base64 file bytes
            (or a data URL), or, with `image_paths`, the path of an existing file.
        folder: where decoded images are written.
        label: the field, for messages.
        image_paths: whether paths are accepted.

    Raises:
        ValueError: naming the field, for data that is not an image (or a path
            when paths are not accepted).
    """
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    if image_paths and not value.startswith("data:") and os.path.isfile(value):
        return value
    try:
        data = _base64_image(value, label)
    except ValueError as error:
        if image_paths or "base64" not in str(error):
            raise
        raise ValueError(
            f"{error} This server reads no file paths; start it with --image-paths to read "
            "images on its own machine."
        ) from None
    suffix = next((ext for magic, ext in _IMAGE_MAGIC.items() if data.startswith(magic)), None)
    if suffix is None:
        raise ValueError(f"{label} is not a PNG, JPEG, BMP or GIF file.")
    import tensorflow as tf

    try:
        tf.io.decode_image(data, expand_animations=False)
    except (ValueError, tf.errors.OpError):
        raise ValueError(f"{label} is not a readable {suffix[1:].upper()} file.") from None
    path = os.path.join(folder, f"{uuid.uuid4().hex}{suffix}")
    with open(path, "wb") as f:
        f.write(data)
    return path


def _base64_image(text, label):
    """The bytes of an image sent as base64 (or a data URL), checked against the pixel limit.

    Raises:
        ValueError: naming `label`, for text that is not base64 or an image too large.
    """
    if text.startswith("data:") and "," in text:  # A data URL: data:image/png;base64,...
        text = text.split(",", 1)[1]
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"{label} is not valid base64: {error}.") from None
    size = _encoded_image_size(data)
    if size is not None and size[0] * size[1] > MAX_IMAGE_PIXELS:
        raise ValueError(
            f"{label} is {size[1]} x {size[0]} pixels; at most {MAX_IMAGE_PIXELS} pixels are "
            "accepted."
        )
    return data


def _encoded_image_size(data):
    """`(height, width)` read from an image file's header, before decoding; None if unknown.

    A header too broken to read gives None: decoding then fails with its own message.
    """
    import tensorflow as tf

    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            width, height = struct.unpack(">II", data[16:24])
        elif data.startswith((b"GIF87a", b"GIF89a")):
            width, height = struct.unpack("<HH", data[6:10])
        elif data.startswith(b"BM"):
            width, height = struct.unpack("<ii", data[18:26])
        elif data.startswith(b"\xff\xd8"):
            height, width = tf.io.extract_jpeg_shape(data).numpy()[:2]
        else:
            return None
    except (struct.error, tf.errors.OpError):
        return None
    return abs(int(height)), abs(int(width))


def _by_shape(function, images):
    """`function` on a stack of same-shaped images; images of other shapes one at a time."""
    if len({image.shape for image in images}) == 1:
        return function(np.stack(images))
    return np.concatenate([function(image[None]) for image in images])
