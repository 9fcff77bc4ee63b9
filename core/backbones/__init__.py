"""Backbone models assembled from `core.layers`."""

from core.backbones.tabular_model import BACKBONES, build_tabular_model

__all__ = ["BACKBONES", "build_tabular_model"]
