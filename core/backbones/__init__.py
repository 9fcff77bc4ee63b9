"""Backbone models assembled from `core.layers`."""

from core.backbones.encoder_stack import ENCODER_STACKS, encoder_stack
from core.backbones.event_sequence_model import EVENT_BACKBONES, build_event_sequence_model
from core.backbones.image_model import IMAGE_BACKBONES, build_image_model
from core.backbones.tabular_model import BACKBONES, build_tabular_model
from core.backbones.visit_sequence_model import (
    VISIT_BACKBONES,
    build_masked_code_model,
    build_visit_encoder,
    build_visit_sequence_model,
)

__all__ = [
    "BACKBONES",
    "ENCODER_STACKS",
    "EVENT_BACKBONES",
    "IMAGE_BACKBONES",
    "VISIT_BACKBONES",
    "build_event_sequence_model",
    "build_image_model",
    "build_masked_code_model",
    "build_tabular_model",
    "build_visit_encoder",
    "build_visit_sequence_model",
    "encoder_stack",
]
