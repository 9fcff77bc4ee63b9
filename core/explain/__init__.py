"""Explanations: attributions in the domain's own terms."""

from core.explain.integrated_gradients import integrated_gradients

__all__ = ["integrated_gradients"]
