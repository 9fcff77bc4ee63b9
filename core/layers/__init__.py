"""Keras layers shared by the domain models."""

from core.layers.attention_pooling import AttentionPooling
from core.layers.cached_features import CachedFeatures
from core.layers.column_gate import ColumnGate
from core.layers.column_sum import ColumnSum
from core.layers.drop_mask import DropMask
from core.layers.image_file_reader import ImageFileReader
from core.layers.lstm_encoder import LSTMEncoder
from core.layers.missing_token import MissingToken
from core.layers.monotone_feature_effects import MonotoneFeatureEffects
from core.layers.patch_embedding import PatchEmbedding
from core.layers.per_image_standardization import PerImageStandardization
from core.layers.residual_block import ResidualBlock
from core.layers.select_features import SelectFeatures
from core.layers.sparse_linear import SparseLinear
from core.layers.tabular_embedding import TabularEmbedding
from core.layers.time_gap_encoding import TimeGapEncoding
from core.layers.token_and_position_embedding import TokenAndPositionEmbedding
from core.layers.transformer_decoder import TransformerDecoder
from core.layers.transformer_encoder import TransformerEncoder
from core.layers.visit_embedding import VisitEmbedding
from core.layers.visit_mask import VisitMask

__all__ = [
    "AttentionPooling",
    "CachedFeatures",
    "ColumnGate",
    "ColumnSum",
    "DropMask",
    "ImageFileReader",
    "LSTMEncoder",
    "MissingToken",
    "MonotoneFeatureEffects",
    "PatchEmbedding",
    "PerImageStandardization",
    "ResidualBlock",
    "SelectFeatures",
    "SparseLinear",
    "TabularEmbedding",
    "TimeGapEncoding",
    "TokenAndPositionEmbedding",
    "TransformerDecoder",
    "TransformerEncoder",
    "VisitEmbedding",
    "VisitMask",
]
