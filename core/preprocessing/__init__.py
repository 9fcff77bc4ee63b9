"""Preprocessors learned from raw data; their state is plain JSON."""

from core.preprocessing.tabular_preprocessor import TabularPreprocessor

__all__ = ["TabularPreprocessor"]
