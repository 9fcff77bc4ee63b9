"""Reports on fitted models: model cards."""

from core.reports.model_card import model_card

__all__ = ["model_card"]
