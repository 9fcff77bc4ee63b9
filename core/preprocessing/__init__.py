"""Preprocessors learned from raw data; their state is plain JSON."""

from core.preprocessing.image_preprocessor import ImagePreprocessor
from core.preprocessing.tabular_preprocessor import TabularPreprocessor

__all__ = ["ImagePreprocessor", "TabularPreprocessor"]
