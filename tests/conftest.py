"""Shared fixtures: every test starts from the same seed and a clean Keras session."""

import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import keras
import pytest


@pytest.fixture(autouse=True)
def seeded_clean_session():
    keras.utils.set_random_seed(0)
    yield
    # free_memory=False skips a full gc.collect(), which costs ~0.4 s per test once
    # TensorFlow is loaded; the Keras global state and TF graph are still reset.
    keras.backend.clear_session(free_memory=False)
