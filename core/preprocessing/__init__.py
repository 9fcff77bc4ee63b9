"""Preprocessors learned from raw data; their state is plain JSON."""

from core.preprocessing.corpus_adapter import CorpusAdapter
from core.preprocessing.event_sequence_encoder import EventSequenceEncoder, EventSequences
from core.preprocessing.image_preprocessor import ImagePreprocessor, ImageRows
from core.preprocessing.input_adapter import InputAdapter
from core.preprocessing.tabular_preprocessor import (
    CATEGORICAL_INPUT,
    NUMERIC_INPUT,
    TabularPreprocessor,
)
from core.preprocessing.text_adapter import TextAdapter
from core.preprocessing.word_piece_tokenizer import WordPieceTokenizer

__all__ = [
    "CATEGORICAL_INPUT",
    "NUMERIC_INPUT",
    "CorpusAdapter",
    "EventSequenceEncoder",
    "EventSequences",
    "ImagePreprocessor",
    "ImageRows",
    "InputAdapter",
    "TabularPreprocessor",
    "TextAdapter",
    "WordPieceTokenizer",
]
