"""The clothing-like glyph proxy of `benchmarks.vision_quality`: shapes, balance, seeds."""

import numpy as np

from benchmarks.glyph_images import CLASSES, FACES, font_paths, make_glyphs
from benchmarks.side_by_side.quality import _glyphs_time_figure


def test_every_face_ships_with_matplotlib():
    assert len(font_paths()) == len(FACES)


def test_images_are_balanced_uint8_glyphs_from_disjoint_streams():
    X_train, y_train, X_test, y_test = make_glyphs(60, 30, seed=0)
    assert X_train.shape == (60, 28, 28) and X_test.shape == (30, 28, 28)
    assert X_train.dtype == np.uint8
    assert np.bincount(y_train, minlength=len(CLASSES)).tolist() == [6] * len(CLASSES)
    assert np.bincount(y_test, minlength=len(CLASSES)).tolist() == [3] * len(CLASSES)
    # Ink on a darker background: the centre is brighter than the corners on average.
    assert X_train[:, 10:18, 10:18].mean() > X_train[:, :4, :4].mean() + 20
    assert not any(np.array_equal(a, b) for a in X_test for b in X_train)


def test_the_seed_fixes_the_set():
    first, again, other = (make_glyphs(20, 5, seed=s)[0] for s in (1, 1, 2))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_the_fit_time_row_passes_within_the_budget_only():
    def result(seconds):
        return {"models": {"ImageClassifier": {"fit_seconds": seconds}}}

    assert _glyphs_time_figure(result(240.0)).passed
    assert not _glyphs_time_figure(result(320.0)).passed
