"""Column kinds and the encoding of tables with free text and image paths."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core.preprocessing.column_kinds import column_kinds
from core.preprocessing.multimodal_preprocessor import MultimodalPreprocessor

WORDS = ["chest", "pain", "cough", "fever", "stairs", "rest", "tired", "walk", "night", "diet"]


def notes(n, seed=0):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, 5)) for _ in range(n)]


@pytest.fixture
def image_paths(tmp_path):
    paths = []
    for i in range(6):
        path = tmp_path / f"scan_{i}.png"
        Image.fromarray(np.full((20, 24), 40 * i, np.uint8)).save(path)
        paths.append(str(path))
    return paths


@pytest.fixture
def frame(image_paths):
    n = 12
    return pd.DataFrame(
        {
            "age": np.linspace(30, 80, n),
            "sex": ["F", "M"] * (n // 2),
            "ward": ["cardiology ward two east"] * n,  # several words, one value: a category
            "note": notes(n),
            "scan": image_paths * 2,
        }
    )


def test_kinds_are_detected_from_the_values(frame):
    kinds = column_kinds(frame)
    assert kinds == {
        "age": "table",
        "sex": "table",
        "ward": "table",
        "note": "text",
        "scan": "image",
    }


def test_kinds_are_detected_in_object_columns_with_none_among_the_strings(frame):
    # Frames built from Python lists: object columns whose missing values are None.
    mixed = frame.astype({"note": object, "scan": object, "sex": object})
    mixed.loc[2, ["note", "scan", "sex"]] = None
    assert column_kinds(mixed) == column_kinds(frame)


def test_short_labels_stay_categories_and_declarations_override(frame):
    assert column_kinds(frame, text_columns=["sex"])["sex"] == "text"
    assert column_kinds(frame, text_columns=[])["note"] == "text"  # Declared: add, never remove.
    words = pd.DataFrame({"word": [f"w{i}" for i in range(200)]})
    assert column_kinds(words) == {"word": "table"}


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"text_columns": ["age"]}, "Column 'age' is declared in `text_columns` but holds float64"),
        ({"text_columns": ["nope"]}, r"`text_columns` names columns \['nope'\] that X does not"),
        ({"image_columns": ["note"]}, "Column 'note' holds values that are not image file paths"),
        (
            {"text_columns": ["note"], "image_columns": ["note"]},
            r"Columns \['note'\] are declared in both",
        ),
    ],
)
def test_a_wrong_declaration_names_the_column(frame, declared, message):
    with pytest.raises(ValueError, match=message):
        column_kinds(frame, **declared)


def test_an_image_column_with_missing_files_names_the_column(frame, tmp_path):
    frame = frame.assign(scan=[str(tmp_path / "gone.png")] * len(frame))
    with pytest.raises(ValueError, match="Column 'scan' names image files that do not exist"):
        column_kinds(frame, image_columns=["scan"])
    # Undeclared, paths that do not exist are not taken for images.
    assert column_kinds(frame)["scan"] != "image"


def test_transform_encodes_each_kind_and_missing_pieces_as_empty_rows(frame):
    frame.loc[1, "note"] = None
    frame.loc[2, "note"] = "   "
    frame.loc[3, "scan"] = None
    pre = MultimodalPreprocessor(min_frequency=1).fit(frame)
    assert pre.text_columns_ == ["note"] and pre.image_columns_ == ["scan"]
    assert pre.numeric_columns_ == ["age"] and pre.categorical_columns_ == ["sex", "ward"]
    assert pre.image_shapes_ == [((20, 24), 1)]
    out = pre.transform(frame)
    assert set(out) == {"numeric", "categorical", "text_0", "image_0"}
    ids, codes = out["text_0"], out["image_0"]
    assert ids.dtype == np.int32 and codes.dtype == np.int32
    assert (ids[[1, 2]] == 0).all() and (ids[[0, 4]] != 0).any(axis=1).all()
    assert (codes[3] == 0).all()
    assert "".join(chr(c) for c in codes[0] if c) == frame.loc[0, "scan"]


def test_state_round_trips_through_json_and_schema_names_every_kind(frame):
    pre = MultimodalPreprocessor(min_frequency=1).fit(frame)
    back = MultimodalPreprocessor.from_state(json.loads(json.dumps(pre.get_state())))
    for name, array in pre.transform(frame).items():
        np.testing.assert_array_equal(back.transform(frame)[name], array)
    kinds = {item["name"]: item["kind"] for item in back.input_schema()}
    assert kinds == {
        "age": "numeric",
        "sex": "categorical",
        "ward": "categorical",
        "note": "text",
        "scan": "image",
    }


def test_a_plain_table_state_still_loads():
    table = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]})
    pre = MultimodalPreprocessor(min_frequency=1).fit(table)
    state = pre.get_state()
    for key in ("column_kinds", "text_adapters", "image_shapes"):
        state.pop(key)
    back = MultimodalPreprocessor.from_state(state)
    assert not back.is_multimodal
    np.testing.assert_array_equal(back.transform(table)["numeric"], pre.transform(table)["numeric"])


def test_bad_image_paths_at_predict_name_the_column(frame, tmp_path):
    pre = MultimodalPreprocessor(min_frequency=1).fit(frame)
    with pytest.raises(ValueError, match="Image column 'scan' holds image files that do not exist"):
        pre.transform(frame.assign(scan=str(tmp_path / "gone.png")))
    with pytest.raises(ValueError, match="Image column 'scan' holds values that are not image"):
        pre.transform(frame.assign(scan="hello"))
