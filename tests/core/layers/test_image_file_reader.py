import numpy as np
import pytest
from keras import ops
from PIL import Image

from core.layers.image_file_reader import ImageFileReader
from core.preprocessing.multimodal_preprocessor import path_codes


@pytest.fixture
def images(tmp_path):
    grey = np.tile(np.arange(8, dtype=np.uint8)[None, :] * 30, (8, 1))
    colour = np.zeros((4, 4, 4), np.uint8)
    colour[..., 0], colour[..., 3] = 255, 128  # red, with an alpha channel
    Image.fromarray(grey).save(tmp_path / "grey.png")
    Image.fromarray(colour, "RGBA").save(tmp_path / "colour.png")
    return str(tmp_path / "grey.png"), str(tmp_path / "colour.png"), grey


def test_reads_resizes_and_scales_files_and_gives_zeros_for_a_missing_one(images):
    grey_path, colour_path, grey = images
    reader = ImageFileReader((8, 8), 1)
    out = ops.convert_to_numpy(reader(path_codes([grey_path, "", colour_path])))
    assert out.shape == (3, 8, 8, 1)
    np.testing.assert_allclose(out[0, ..., 0], grey / 255.0, atol=1e-6)
    np.testing.assert_array_equal(out[1], 0.0)
    # Red in grey: luminance 0.2989, the alpha channel dropped.
    np.testing.assert_allclose(out[2], 0.2989, atol=2e-3)


def test_grey_is_repeated_to_colour(images):
    grey_path, _, grey = images
    out = ops.convert_to_numpy(ImageFileReader((8, 8), 3)(path_codes([grey_path])))
    assert out.shape == (1, 8, 8, 3)
    for channel in range(3):
        np.testing.assert_allclose(out[0, ..., channel], grey / 255.0, atol=1e-6)


def test_config_round_trip_and_bad_channels():
    layer = ImageFileReader((16, 8), 3, name="reader")
    revived = ImageFileReader.from_config(layer.get_config())
    assert revived.image_size == (16, 8) and revived.channels == 3
    with pytest.raises(ValueError, match=r"`channels` must be 1 or 3\. Received: channels=2"):
        ImageFileReader((8, 8), 2)


def test_path_codes_round_trip_unicode_paths():
    codes = path_codes(["a/é.png", ""])
    assert codes.dtype == np.int32 and codes.shape == (2, 7)
    assert "".join(chr(c) for c in codes[0] if c) == "a/é.png"
    np.testing.assert_array_equal(codes[1], 0)
