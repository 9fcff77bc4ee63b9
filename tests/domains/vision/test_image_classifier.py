"""ImageClassifier: arrays, folders and files, Grad-CAM, warm starts, files, errors."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from domains.vision import ImageClassifier, list_images

SAMPLE_SHAPES = Path(__file__).resolve().parents[3] / "sample_data" / "vision" / "shapes"
TINY = dict(widths=(8, 16), max_epochs=3, batch_size=32, image_size=(16, 16), random_state=0)


def tiny(**params):
    return ImageClassifier(**{**TINY, **params})


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """The first 16 images of each class of the sample folder: all formats and channels."""
    folder = tmp_path_factory.mktemp("shapes")
    for class_folder in sorted(SAMPLE_SHAPES.iterdir()):
        (folder / class_folder.name).mkdir()
        for image in sorted(class_folder.iterdir())[:16]:
            shutil.copy(image, folder / class_folder.name / image.name)
    return folder


@pytest.fixture(scope="module")
def folder_model(shapes):
    return tiny().fit(str(shapes))


def _write_png(path, image):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(tf.io.encode_png(image).numpy())


def test_conformal_scores_from_a_validation_dataset_of_files(folder_model, shapes):
    # Images read from files are validated through a dataset, not arrays.
    n_images = len(list_images(str(shapes)))
    assert len(folder_model.conformal_scores_) == round(0.1 * n_images)
    sets = folder_model.predict_set(str(shapes), alpha=0.5)
    assert sets.shape == (n_images, 4) and sets.any(axis=1).all()


# A real-size check (a minute on 2 cores); benchmarks/vision_quality.py measures the same.
@pytest.mark.slow
def test_digits_hold_out_accuracy():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X.reshape(-1, 8, 8) / 16.0, y, test_size=0.25, stratify=y, random_state=0
    )
    model = ImageClassifier(image_size=(16, 16), random_state=0).fit(X_train, y_train)
    assert model.score(X_test, y_test) >= 0.98


def test_folder_in_class_names_out(shapes, folder_model):
    assert list(folder_model.classes_) == ["circle", "ring", "square", "triangle"]
    files = list_images(shapes)
    proba = folder_model.predict_proba(str(shapes))
    assert proba.shape == (len(files), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    # The folder streams through tf.data in list_images order: same as passing the files.
    np.testing.assert_allclose(folder_model.predict_proba(files[:10]), proba[:10], atol=1e-5)


def test_folder_training_streams(shapes, monkeypatch):
    from core.estimators import keras_estimator

    seen = {}
    original = keras_estimator.KerasEstimator._fit_model

    def spy(self, X_train, *args, **kwargs):
        seen["train"] = X_train
        return original(self, X_train, *args, **kwargs)

    monkeypatch.setattr(keras_estimator.KerasEstimator, "_fit_model", spy)
    tiny(max_epochs=1).fit(str(shapes))
    assert isinstance(seen["train"], tf.data.Dataset)


def test_grayscale_and_colour_inputs_are_converted(folder_model):
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 255, size=(3, 20, 24), dtype=np.uint8)
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    # The shapes folder mixes channels; the model reads colour and repeats grayscale.
    assert folder_model.preprocessor_.channels_ == 3
    np.testing.assert_allclose(
        folder_model.predict_proba(gray), folder_model.predict_proba(rgb), atol=1e-5
    )
    gray_model = tiny(max_epochs=1).fit(gray.repeat(4, axis=0), [0, 1] * 6)
    assert gray_model.preprocessor_.channels_ == 1
    assert gray_model.predict_proba(rgb).shape == (3, 2)


def test_save_load_keeps_classes_and_preprocessing(shapes, folder_model, tmp_path):
    loaded = ImageClassifier.load(folder_model.save(tmp_path / "vision.kdm"))
    files = list_images(shapes)[:12]
    np.testing.assert_allclose(
        loaded.predict_proba(files), folder_model.predict_proba(files), atol=1e-6
    )
    assert list(loaded.classes_) == list(folder_model.classes_)
    assert loaded.preprocessor_.get_state() == folder_model.preprocessor_.get_state()


def test_grad_cam_finds_the_object():
    """Class = which half holds a bright square; the heat map must sit on that square."""
    rng = np.random.default_rng(0)
    n = 240
    images = rng.uniform(0, 0.2, size=(n, 16, 16)).astype("float32")
    labels = rng.integers(0, 2, n)
    rows = rng.integers(2, 10, n)
    for i in range(n):
        col = rng.integers(1, 4) if labels[i] == 0 else rng.integers(9, 12)
        images[i, rows[i] : rows[i] + 4, col : col + 4] = 1.0
    # A constant rate: with 8 epochs of 8 steps, a decaying one leaves the maps less sharp.
    model = tiny(
        max_epochs=8, augment=False, widths=(8, 16), learning_rate_schedule="constant"
    ).fit(images, labels)
    assert model.score(images, labels) > 0.9
    heat = model.explain(images[:20])
    assert heat.shape == (20, 16, 16) and heat.min() >= 0.0 and heat.max() <= 1.0
    assert (heat.max(axis=(1, 2)) > 0).mean() >= 0.9  # A winning class leaves a map.
    inside = [
        heat[i, rows[i] : rows[i] + 4].mean() > heat[i].mean()
        for i in range(20)
        if heat[i].max() > 0
    ]
    assert np.mean(inside) >= 0.8


def test_plots_are_written(shapes, folder_model, tmp_path):
    files = list_images(shapes)
    folder_model.plot_explanations(files[:8], tmp_path / "gradcam.png")
    folder_model.plot_confusion_matrix(str(shapes), tmp_path / "confusion.png")
    for path in (tmp_path / "gradcam.png", tmp_path / "confusion.png"):
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("n_images", [1, 3])
def test_grad_cam_on_an_odd_number_of_images(folder_model, shapes, n_images):
    # TensorFlow's oneDNN kernels aborted the process here when the tape held the backbone.
    maps = folder_model.explain(list_images(shapes)[:n_images])
    assert maps.shape == (n_images, 16, 16) and np.isfinite(maps).all()


def test_the_plots_draw_into_the_given_axes(folder_model, shapes):
    from core.plotting import require_matplotlib

    plt = require_matplotlib()
    files = list_images(shapes)[:8]  # As many as the written grid shows.
    figure, grid = plt.subplots(3, 3)
    axes = grid.ravel()
    try:
        assert folder_model.plot_explanations(files, ax=axes[:8]) is figure
        for axis in axes[:8]:  # The image, then its heat map over the same extent.
            image, heat = axis.get_images()
            assert image.get_extent() == heat.get_extent() == [-0.5, 15.5, 15.5, -0.5]
        display = folder_model.plot_confusion_matrix(str(shapes), ax=axes[8])
        report = folder_model.report(str(shapes))["confusion_matrix"].to_numpy()
        assert display.ax_ is axes[8]
        np.testing.assert_array_equal(display.confusion_matrix, report)
        assert [t.get_text() for t in axes[8].get_xticklabels()] == [
            str(c) for c in folder_model.classes_
        ]
    finally:
        plt.close(figure)


def test_report_on_a_folder(shapes, folder_model):
    report = folder_model.report(str(shapes), k=2)
    matrix = report["confusion_matrix"]
    assert list(matrix.index) == list(folder_model.classes_)
    assert matrix.to_numpy().sum() == report["n"] == len(list_images(shapes))
    assert np.isclose(report["accuracy"], np.trace(matrix.to_numpy()) / report["n"])
    assert report["top_k_accuracy"] >= report["accuracy"]


def test_start_from_trains_the_head_first_with_a_frozen_backbone(
    shapes, folder_model, tmp_path, monkeypatch
):
    source_path = folder_model.save(tmp_path / "source.kdm")
    source_weights = folder_model.model_.get_layer("backbone").get_weights()
    calls, models = [], []
    original, original_new_model = ImageClassifier._train_epochs, ImageClassifier._new_model

    def new_model(self, start=None):
        models.append(original_new_model(self, start))
        return models[-1]

    def spy(self, *args, **kwargs):
        backbone = models[-1].get_layer("backbone")
        calls.append(
            {"trainable": backbone.trainable, "learning_rate": args[5], "model": self.model_.name}
        )
        history = original(self, *args, **kwargs)
        calls[-1]["weights_after"] = backbone.get_weights()
        return history

    monkeypatch.setattr(ImageClassifier, "_new_model", new_model)
    monkeypatch.setattr(ImageClassifier, "_train_epochs", spy)
    tuned = tiny(start_from=str(source_path), head_epochs=1, max_epochs=1, learning_rate=1e-3)
    tuned.fit(str(shapes))
    assert [c["trainable"] for c in calls] == [False, True]
    # The head phase trains on pooled features computed once, not through the backbone.
    assert [c["model"] for c in calls] == ["pooled_head", models[-1].name]
    assert calls[1]["learning_rate"] == pytest.approx(1e-4)
    # Frozen means frozen: kernels and batch-norm statistics unchanged by the head phase.
    for before, after in zip(source_weights, calls[0]["weights_after"], strict=True):
        np.testing.assert_array_equal(before, after)
    assert tuned.n_epochs_ == 2


def test_start_from_needs_a_matching_backbone(shapes, folder_model, tmp_path):
    path = folder_model.save(tmp_path / "source.kdm")
    with pytest.raises(ValueError, match="start_from"):
        tiny(start_from=str(path), image_size=(24, 24)).fit(str(shapes))


# ------------------------------------------------------------------ errors
def test_unreadable_files_are_skipped_with_a_warning(tmp_path):
    for label in ("a", "b"):
        for i in range(4):
            _write_png(tmp_path / label / f"{i}.png", np.full((8, 8, 1), 60 * i, np.uint8))
    (tmp_path / "a" / "broken.png").write_bytes(b"not an image")
    good = (tmp_path / "b" / "0.png").read_bytes()
    (tmp_path / "b" / "truncated.png").write_bytes(good[: len(good) // 2])
    with pytest.warns(UserWarning, match=r"Skipped 2 .*broken\.png.*truncated\.png"):
        model = tiny(max_epochs=1).fit(str(tmp_path))
    assert model.n_epochs_ == 1


def test_all_unreadable_is_an_error(tmp_path):
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        (tmp_path / label / "x.png").write_bytes(b"junk")
    with pytest.raises(ValueError, match="None of the 2 image files"):
        tiny().fit(str(tmp_path))


def test_empty_and_single_class_folders(shapes, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no images"):
        tiny().fit(str(tmp_path / "empty"))
    single = tmp_path / "single"
    shutil.copytree(shapes / "circle", single / "circle")
    with pytest.raises(ValueError, match="single class"):
        tiny().fit(str(single))


@pytest.mark.parametrize(
    ("images", "labels", "match"),
    [
        ([np.zeros((8, 8)), np.zeros((9, 9))], [0, 1], "different shapes"),
        (np.zeros((4, 8, 8, 1, 1)), [0, 1, 0, 1], "5 dimensions"),
        (np.zeros((4, 8, 8)), [0, 1, 0], "different lengths"),
        (np.zeros((0, 8, 8)), [], "`X` holds no images"),
        (
            np.zeros((4, 0, 8)),
            [0, 1, 0, 1],
            r"at least 1 x 1 pixels. Received shape \(4, 0, 8, 1\)",
        ),
        (np.full((4, 8, 8), np.nan), [0, 1, 0, 1], "`X` has 256 pixel values that are NaN"),
        (np.full((4, 8, 8), 1e300), [0, 1, 0, 1], "beyond float32's range, e.g. \\[1e\\+300"),
    ],
)
def test_bad_arrays(images, labels, match):
    with pytest.raises(ValueError, match=match):
        tiny().fit(images, labels)


def test_non_finite_or_empty_images_are_refused_at_predict():
    model = tiny(max_epochs=1).fit(np.zeros((4, 8, 8), dtype=np.uint8), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="pixel values that are NaN, infinite"):
        model.predict_proba(np.array([np.full((8, 8), np.inf)]))
    with pytest.raises(ValueError, match="at least 1 x 1 pixels"):
        model.predict_proba(np.zeros((1, 8, 0, 1)))


@pytest.mark.parametrize("size", [(0, 8), (8,), "32", (8.5, 8), (True, 8)])
def test_image_size_must_be_two_positive_ints(size):
    with pytest.raises(ValueError, match="image_size"):
        tiny(image_size=size).fit(np.zeros((4, 8, 8)), [0, 1, 0, 1])


def test_vit_backbone_trains_explains_and_round_trips(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 0.3, size=(64, 16, 16)).astype("float32")
    labels = np.arange(64) % 2
    images[labels == 1, 4:12, 4:12] += 0.7
    model = tiny(backbone="vit", patch_size=4, embedding_dim=16, num_layers=1, num_heads=2)
    model.set_params(max_epochs=15, learning_rate=5e-3, augment=False).fit(images, labels)
    assert model.score(images, labels) > 0.9
    heat = model.explain(images[:4])
    assert heat.shape == (4, 16, 16) and 0.0 <= heat.min() and heat.max() <= 1.0
    loaded = ImageClassifier.load(model.save(tmp_path / "vit.kdm"))
    np.testing.assert_allclose(loaded.predict_proba(images), model.predict_proba(images), atol=1e-6)


def test_vit_patch_size_must_divide_the_image():
    with pytest.raises(ValueError, match="patch_size"):
        tiny(backbone="vit", patch_size=5).fit(np.zeros((4, 8, 8)), [0, 1, 0, 1])


def test_plot_explanations_scales_images_once(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(8, 16, 16), dtype=np.uint8)
    model = tiny(max_epochs=1).fit(images, [0, 1] * 4)
    seen = []
    original = ImageClassifier._predict_raw

    def spy(self, matrix):
        seen.append(float(np.max(matrix)))
        return original(self, matrix)

    monkeypatch.setattr(ImageClassifier, "_predict_raw", spy)
    model.plot_explanations(images[:4], tmp_path / "gradcam.png")
    # Pixels reach the model in [0, 1], once scaled: not 0-255, not divided twice.
    assert seen and all(0.5 < peak <= 1.0 for peak in seen)


# Slow (19 s): four fits of real-size images; kept for `pytest -m slow`.
@pytest.mark.slow
def test_auto_image_size_follows_the_training_images():
    model = tiny(image_size="auto", max_epochs=1).fit(np.zeros((4, 20, 24)), [0, 1, 0, 1])
    assert model.preprocessor_.image_size == (20, 24)
    small = tiny(image_size="auto", max_epochs=1).fit(np.zeros((4, 8, 8)), [0, 1, 0, 1])
    assert small.preprocessor_.image_size == (16, 16)
    vit = tiny(image_size="auto", backbone="vit", patch_size=8, embedding_dim=8, num_layers=1)
    vit.set_params(max_epochs=1).fit(np.zeros((4, 20, 24)), [0, 1, 0, 1])
    assert vit.preprocessor_.image_size == (24, 24)


def test_loaded_parameters_equal_the_saved_ones(tmp_path):
    model = tiny(max_epochs=1).fit(np.zeros((4, 8, 8)), [0, 1, 0, 1])
    loaded = ImageClassifier.load(model.save(tmp_path / "m.kdm"))
    assert loaded.get_params() == model.get_params()
    assert isinstance(loaded.image_size, tuple) and isinstance(loaded.widths, tuple)


@pytest.mark.parametrize("steps, epochs", [(85, 12), (22, 46), (200, 10), (9, 60), (None, 60)])
def test_auto_epochs_plan_about_1000_optimizer_steps(steps, epochs):
    assert ImageClassifier()._epoch_limit(steps) == epochs
    assert ImageClassifier(max_epochs=7)._epoch_limit(steps) == 7


def test_steps_per_epoch_of_arrays_and_of_a_batched_dataset():
    model = tiny(batch_size=32)
    assert model._steps_per_epoch(np.zeros((70, 8, 8, 1)), np.zeros(70)) == 3
    assert model._steps_per_epoch(tf.data.Dataset.range(10).batch(3), None) == 4


@pytest.mark.parametrize("schedule", ["cosine", "constant"])
def test_the_learning_rate_schedule_anneals_or_stays(schedule):
    images = np.random.default_rng(0).random((64, 8, 8))
    model = tiny(
        max_epochs=3, validation_fraction=0.0, learning_rate=1e-2, learning_rate_schedule=schedule
    ).fit(images, [0, 1] * 32)
    final_rate = float(model.model_.optimizer.learning_rate.numpy())
    assert model.n_epochs_ == 3
    if schedule == "cosine":  # 2 steps an epoch: the last batch starts at epoch 2.5 of 3.
        assert final_rate == pytest.approx(1e-2 * 0.5 * (1 + np.cos(0.75 * np.pi)), rel=1e-4)
    else:
        assert final_rate == pytest.approx(1e-2)


def test_max_time_shrinks_the_schedule_to_the_budget(monkeypatch):
    schedules = []
    plan = ImageClassifier._learning_rate_schedule

    def recording_plan(self, learning_rate, epochs, deadline):
        schedules.append(plan(self, learning_rate, epochs, deadline))
        return schedules[-1]

    monkeypatch.setattr(ImageClassifier, "_learning_rate_schedule", recording_plan)
    images = np.random.default_rng(0).random((2000, 16, 16))
    model = tiny(max_epochs=500, patience=500, max_time=6.0).fit(images, [0, 1] * 1000)
    # The schedule was given the fit's deadline and planned for the epochs that fit in it
    # (how many depends on the machine's pace), not for 500; training ended at its horizon.
    (schedule,) = schedules
    assert schedule.deadline is not None
    assert schedule.horizon < 500
    assert model.n_epochs_ <= schedule.horizon
