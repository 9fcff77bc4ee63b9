"""Exporting fitted models for serving outside Python: TensorFlow SavedModel and ONNX."""

from core.export.export_signature import ExportSignature
from core.export.image_signature import ImageSignature
from core.export.model_exporter import COMPANION_NAME, FORMATS, ModelExporter
from core.export.table_signature import TableSignature

__all__ = [
    "COMPANION_NAME",
    "FORMATS",
    "ExportSignature",
    "ImageSignature",
    "ModelExporter",
    "TableSignature",
]
