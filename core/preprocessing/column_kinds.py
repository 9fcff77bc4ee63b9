"""Which columns of a table hold free text or image paths, found from the values or declared."""

import os

import numpy as np
import pandas as pd

from core.preprocessing.image_preprocessor import IMAGE_EXTENSIONS

#: The kinds of column a table may hold.
TABLE, TEXT, IMAGE = "table", "text", "image"
#: A string column is free text when its values average at least this many words
TEXT_MIN_WORDS = 3
#: and at least this share of its present values are distinct (or this many values are).
TEXT_MIN_DISTINCT = 0.3
TEXT_MIN_DISTINCT_VALUES = 100
#: Values looked at to tell a column's kind, and paths checked for existence.
KIND_SAMPLE = 500


def column_kinds(frame, text_columns=None, image_columns=None):
    """The kind of each column: `"table"` (numbers, categories), `"text"` or `"image"`.

    A string column is an image column when every value (missing aside)
    ends with an image extension and names an existing file; it is a text
    column when its values have several words each on average
    (`TEXT_MIN_WORDS`) and many distinct values (`TEXT_MIN_DISTINCT` of
    them, or `TEXT_MIN_DISTINCT_VALUES`).
    Declared columns override the detection.

    Args:
        frame: the training DataFrame.
        text_columns: columns declared as text, or None to detect them.
        image_columns: columns declared as image paths, or None to detect them.

    Returns:
        dict `{column: kind}` in the frame's column order.

    Raises:
        ValueError: naming the column, for a declared column that X lacks,
            is declared twice, holds numbers, or whose paths do not exist.
    """
    text_columns = _declared(text_columns, "text_columns", frame)
    image_columns = _declared(image_columns, "image_columns", frame)
    both = sorted(set(text_columns) & set(image_columns))
    if both:
        raise ValueError(
            f"Columns {both} are declared in both `text_columns` and `image_columns`; "
            "a column is one or the other."
        )
    kinds = {}
    for name in frame.columns:
        values = frame[name]
        if name in text_columns:
            _check_strings(values, name, "text_columns", "free text")
            kinds[name] = TEXT
        elif name in image_columns:
            _check_strings(values, name, "image_columns", "image file paths")
            _check_image_paths(values, name)
            kinds[name] = IMAGE
        elif _is_string_column(values):
            kinds[name] = _detected_kind(values)
        else:
            kinds[name] = TABLE
    return kinds


def _declared(columns, argument, frame):
    if columns is None:
        return []
    if isinstance(columns, str):
        columns = [columns]
    columns = list(columns)
    unknown = [c for c in columns if c not in frame.columns]
    if unknown:
        raise ValueError(
            f"`{argument}` names columns {unknown} that X does not have. "
            f"Its columns: {[str(c) for c in frame.columns][:20]}."
        )
    return columns


def _is_string_column(values):
    # An object column of strings with None among them is not a string dtype to pandas.
    if values.dtype == object or (
        pd.api.types.is_string_dtype(values) and not pd.api.types.is_bool_dtype(values)
    ):
        present = values.dropna()
        return len(present) > 0 and all(isinstance(v, str) for v in present.iloc[:KIND_SAMPLE])
    return False


def _check_strings(values, name, argument, expected):
    present = values.dropna()
    bad = [v for v in present.iloc[:KIND_SAMPLE] if not isinstance(v, str)]
    if pd.api.types.is_numeric_dtype(values) or bad:
        example = bad[0] if bad else present.iloc[0] if len(present) else None
        raise ValueError(
            f"Column {name!r} is declared in `{argument}` but holds {values.dtype} values "
            f"(e.g. {example!r}); expected {expected} (strings)."
        )


def _detected_kind(values):
    sample = values.dropna().iloc[:KIND_SAMPLE]
    if sample.str.lower().str.endswith(IMAGE_EXTENSIONS).all() and _all_files(sample):
        return IMAGE
    words = sample.str.split().str.len().mean()
    distinct = values.nunique(dropna=True)
    many = distinct >= TEXT_MIN_DISTINCT_VALUES or distinct >= TEXT_MIN_DISTINCT * values.count()
    if words >= TEXT_MIN_WORDS and many:
        return TEXT
    return TABLE


def _all_files(paths):
    return all(os.path.isfile(p) for p in paths.iloc[:KIND_SAMPLE])


def _check_image_paths(values, name):
    """Raises naming the column when its paths do not end in an image extension or do not exist."""
    paths = [p for p in values.dropna() if p != ""]
    if not paths:
        raise ValueError(
            f"Column {name!r} is declared in `image_columns` but holds no paths; "
            "expected image file paths."
        )
    checked = np.asarray(paths, dtype=object)[:KIND_SAMPLE]
    not_images = [p for p in checked if not p.lower().endswith(IMAGE_EXTENSIONS)]
    if not_images:
        raise ValueError(
            f"Column {name!r} holds values that are not image file paths, e.g. "
            f"{not_images[:3]}; expected files ending in {', '.join(IMAGE_EXTENSIONS)}."
        )
    missing = [p for p in checked if not os.path.isfile(p)]
    if missing:
        raise ValueError(
            f"Column {name!r} names image files that do not exist, e.g. {missing[:3]} "
            f"({len(missing)} of the {len(checked)} checked)."
        )
