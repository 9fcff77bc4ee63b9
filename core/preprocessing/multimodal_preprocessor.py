"""Learned preprocessing for tables whose rows also hold free text and image paths."""

import os

import numpy as np
import pandas as pd

from core.preprocessing.column_kinds import IMAGE, TABLE, TEXT, column_kinds
from core.preprocessing.image_preprocessor import IMAGE_EXTENSIONS, ImagePreprocessor
from core.preprocessing.tabular_preprocessor import TabularPreprocessor, checked_frame
from core.preprocessing.text_adapter import TextAdapter
from core.preprocessing.word_piece_tokenizer import WordPieceTokenizer

#: Files read to learn an image column's size and channels.
IMAGE_SAMPLE = 20
#: The built-in text encoders (any other `text_backbone` is a keras-hub preset).
BUILT_IN_TEXT = ("transformer", "lstm")


class MultimodalPreprocessor(TabularPreprocessor):
    """The table adapter for rows that mix numbers, categories, free text and image paths.

    Numbers and categories are encoded as `TabularPreprocessor` does. Each
    text column gets its own WordPiece tokenizer (`TextAdapter`) and becomes
    int32 token ids `"text_{i}"`; each image column becomes its paths as
    Unicode code points `"image_{i}"` (`path_codes`), which the model reads
    batch by batch (`ImageFileReader`). A missing or empty note is a row of
    zeros, and so is a missing image path: the model gives both a learned
    "missing" token. Column kinds are detected from the values
    (`column_kinds`) unless declared.

    Args:
        min_frequency, max_categories, clip: as `TabularPreprocessor`.
        text_columns: columns to read as free text, or None to detect them.
        image_columns: columns of image file paths, or None to detect them.
        image_size: `(height, width)` images are resized to, or `"auto"`: the
            median size of a column's first files, each side 16 to 64.
        vocabulary_size: WordPiece tokens per text column, at most.
        text_preset: a keras-hub text preset (name, handle or folder) whose own
            tokenizer encodes the text columns for its encoder (`HubTextAdapter`);
            a WordPiece tokenizer learned from each column still feeds its
            n-gram path. None: the built-in tokenizer.

    Attributes:
        column_kinds_: `{column: "table" | "text" | "image"}`, in input order.
        text_columns_, image_columns_: the text and image columns, in order.
        text_adapters_: the fitted `TextAdapter` of each text column.
        image_shapes_: `(image_size, channels)` of each image column.
    """

    def __init__(
        self,
        min_frequency=5,
        max_categories=100,
        clip=5.0,
        text_columns=None,
        image_columns=None,
        image_size="auto",
        vocabulary_size=8000,
        text_preset=None,
    ):
        super().__init__(min_frequency=min_frequency, max_categories=max_categories, clip=clip)
        self.text_columns = text_columns
        self.image_columns = image_columns
        self.image_size = image_size
        self.vocabulary_size = vocabulary_size
        self.text_preset = None if text_preset is None else os.fspath(text_preset)

    # ------------------------------------------------------------------ fit
    def fit(self, X):
        """Learns each column's kind, then the table, text and image preprocessing.

        Args:
            X: a pandas DataFrame.

        Returns:
            self.
        """
        X = checked_frame(X, "X")
        X = X.rename(columns=str)
        kinds = column_kinds(X, self.text_columns, self.image_columns)
        table = [c for c, kind in kinds.items() if kind == TABLE]
        if table:
            super().fit(X[table])
        else:
            self.numeric_columns_, self.categorical_columns_ = [], []
            self.medians_, self.scales_, self.missing_seen_, self.vocabularies_ = [], [], [], []
        self.column_kinds_ = kinds
        self.feature_names_in_ = list(X.columns)
        self.text_columns_ = [c for c, kind in kinds.items() if kind == TEXT]
        self.image_columns_ = [c for c, kind in kinds.items() if kind == IMAGE]
        self.text_adapters_ = []
        for name in self.text_columns_:
            texts = _texts(X[name])
            adapter = self._new_text_adapter()
            adapter.text_column_ = name
            self.text_adapters_.append(adapter.fit([t for t in texts if t] or ["empty"]))
        self.image_shapes_ = []
        for name in self.image_columns_:
            paths = [p for p in X[name].dropna() if p][:IMAGE_SAMPLE]
            images = ImagePreprocessor(self.image_size).fit_files(paths)
            self.image_shapes_.append((tuple(images.image_size), int(images.channels_)))
        return self._index()

    def _new_text_adapter(self):
        tokenizer = WordPieceTokenizer(vocabulary_size=self.vocabulary_size)
        if self.text_preset is None:
            return TextAdapter(tokenizer)
        from core.backbones.hub_preset import HubPreset
        from core.preprocessing.hub_text_adapter import HubTextAdapter

        preset = HubPreset(
            self.text_preset, "text", parameter="text_backbone", built_in=BUILT_IN_TEXT
        )
        return HubTextAdapter(
            preset.preprocessor(), preset.backbone(load_weights=False), ngram_tokenizer=tokenizer
        )

    @property
    def is_multimodal(self):
        """Whether any column is text or images."""
        return bool(self.text_columns_ or self.image_columns_)

    # ------------------------------------------------------------ transform
    @property
    def output_widths_(self):
        widths = self._table_widths()
        for i, adapter in enumerate(self.text_adapters_):
            widths[text_input(i)] = (adapter.input_length_, "int32")
            for name in _encoder_inputs(adapter):
                widths[f"{text_input(i)}_{name}"] = (adapter.sequence_length_, "int32")
        for i, _ in enumerate(self.image_columns_):
            widths[image_input(i)] = (None, "int32")  # The longest path of each batch.
        return widths

    def empty(self, n_rows):
        widths = self.output_widths_
        return {
            name: np.empty((n_rows, width or 1), dtype) for name, (width, dtype) in widths.items()
        }

    def transform(self, X):
        """Encodes a DataFrame with the columns seen at fit time.

        Returns:
            dict of arrays: `"numeric"` and `"categorical"` as
            `TabularPreprocessor`, `"text_{i}"` token ids `(n, length)`,
            `"image_{i}"` path code points `(n, longest path)`.
        """
        out = super().transform(X)
        X = X.rename(columns=str)
        for i, name in enumerate(self.text_columns_):
            out.update(self.text_arrays(i, _texts(X[name])))
        for i, name in enumerate(self.image_columns_):
            out[image_input(i)] = path_codes(_paths(X[name], name))
        return out

    def text_arrays(self, i, texts):
        """The model inputs of the i-th text column for texts ("" for a missing one).

        Returns:
            `{"text_{i}": int32 ids}` (the n-gram path's, all 0 for a missing
            text: the model's "missing" token), and with a preset its encoder's
            inputs `"text_{i}_token_ids"`, `"text_{i}_padding_mask"`, ...
        """
        adapter = self.text_adapters_[i]
        missing = [not t for t in texts]
        encoded = adapter.transform(texts)
        if not isinstance(encoded, dict):
            encoded[missing] = 0  # A missing note: no tokens at all.
            return {text_input(i): encoded}
        from core.backbones.hub_text_model import NGRAM_INPUT

        arrays = {f"{text_input(i)}_{name}": encoded[name] for name in _encoder_inputs(adapter)}
        arrays[text_input(i)] = encoded[NGRAM_INPUT]
        arrays[text_input(i)][missing] = 0
        return arrays

    def _transform_small(self, X, positions):
        if self.is_multimodal:
            return None  # The full path encodes text and images.
        return super()._transform_small(X, positions)

    def transform_values(self, rows, columns):
        if self.is_multimodal:
            return None  # Texts and images go through `transform`.
        return super().transform_values(rows, columns)

    def baseline(self):
        """The reference row of explanations: a typical patient, no note, no image."""
        base = super().baseline()
        for i, _ in enumerate(self.text_adapters_):
            base.update(self.text_arrays(i, [""]))
        for i, _ in enumerate(self.image_columns_):
            base[image_input(i)] = np.zeros((1, 1), np.int32)
        return base

    # ---------------------------------------------------------------- state
    def get_state(self):
        state = super().get_state()
        state["config"].update(
            {
                "text_columns": self.text_columns,
                "image_columns": self.image_columns,
                "image_size": self.image_size,
                "vocabulary_size": self.vocabulary_size,
                "text_preset": self.text_preset,
            }
        )
        state["column_kinds"] = self.column_kinds_
        state["text_adapters"] = [a.get_state() for a in self.text_adapters_]
        state["image_shapes"] = [[list(size), channels] for size, channels in self.image_shapes_]
        return state

    @classmethod
    def from_state(cls, state):
        """Rebuilds a fitted preprocessor; a plain table's state (no kinds) loads too."""
        pre = super().from_state(state)
        kinds = state.get("column_kinds") or {c: TABLE for c in pre.feature_names_in_}
        pre.column_kinds_ = dict(kinds)
        pre.text_columns_ = [c for c, kind in kinds.items() if kind == TEXT]
        pre.image_columns_ = [c for c, kind in kinds.items() if kind == IMAGE]
        adapter_class = TextAdapter
        if pre.text_preset is not None:
            from core.preprocessing.hub_text_adapter import HubTextAdapter

            adapter_class = HubTextAdapter
        pre.text_adapters_ = [adapter_class.from_state(s) for s in state.get("text_adapters", [])]
        pre.image_shapes_ = [
            (tuple(size), int(channels)) for size, channels in state.get("image_shapes", [])
        ]
        return pre

    def input_schema(self):
        """Column names and kinds; text and image columns say what they take."""
        schema = super().input_schema()
        schema += [
            {"name": c, "kind": TEXT, "max_tokens": a.input_length_}
            for c, a in zip(self.text_columns_, self.text_adapters_, strict=True)
        ]
        schema += [
            {"name": c, "kind": IMAGE, "image_size": list(size), "channels": channels}
            for c, (size, channels) in zip(self.image_columns_, self.image_shapes_, strict=True)
        ]
        order = {name: i for i, name in enumerate(self.feature_names_in_)}
        return sorted(schema, key=lambda item: order[item["name"]])


def _encoder_inputs(adapter):
    """The names of a preset encoder's inputs; none for the built-in tokenizer."""
    return list(getattr(adapter, "encoder_inputs_", []))


def text_input(i):
    """The model input name of the i-th text column."""
    return f"text_{i}"


def image_input(i):
    """The model input name of the i-th image column."""
    return f"image_{i}"


def path_codes(paths):
    """File paths as int32 rows of Unicode code points, 0-padded; "" for a missing image.

    Args:
        paths: a list of str.

    Returns:
        int32 array `(n, longest path)` (at least one column).
    """
    width = max([len(p) for p in paths] + [1])
    codes = np.zeros((len(paths), width), np.int32)
    for i, path in enumerate(paths):
        codes[i, : len(path)] = [ord(c) for c in path]
    return codes


def _texts(values):
    """A text column's values as str, "" for a missing value."""
    return ["" if v is None or v is pd.NA or v != v else str(v).strip() for v in values]


def _paths(values, name):
    """An image column's paths; "" for a missing one. Raises naming the column for a bad one."""
    paths = ["" if v is None or v is pd.NA or v != v else str(v) for v in values]
    bad = [p for p in paths if p and not p.lower().endswith(IMAGE_EXTENSIONS)]
    missing = [p for p in paths if p and p not in bad and not os.path.isfile(p)]
    if bad or missing:
        problem = (
            f"values that are not image file paths, e.g. {bad[:3]}"
            if bad
            else f"image files that do not exist, e.g. {missing[:3]}"
        )
        raise ValueError(
            f"Image column {name!r} holds {problem}; expected paths of existing "
            f"{', '.join(IMAGE_EXTENSIONS)} files, or a missing value for no image."
        )
    return paths
