"""Tiny keras-hub presets with random weights, written to folders, for offline tests.

Real presets are hundreds of megabytes and need the network; these are the
same classes at a few kilobytes, saved with `save_to_preset` as a user would.
"""

import re

import keras_hub
from keras_hub.src.tokenizers.byte_pair_tokenizer import bytes_to_unicode

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def word_piece_vocabulary(texts, size=400):
    """Specials, every letter and digit (alone and as `##` piece), then the commonest words."""
    counts = {}
    for text in texts:
        for word in re.findall(r"\w+", text.lower()):
            counts[word] = counts.get(word, 0) + 1
    characters = sorted({c for word in counts for c in word})
    words = sorted(counts, key=lambda w: (-counts[w], w))
    vocabulary = SPECIAL_TOKENS + characters + [f"##{c}" for c in characters]
    vocabulary += [w for w in words if w not in vocabulary][: max(0, size - len(vocabulary))]
    return vocabulary


def tiny_bert_preset(folder, texts, sequence_length=32):
    """A 2-layer BERT (hidden size 16) with a vocabulary from `texts`; returns the folder."""
    vocabulary = word_piece_vocabulary(texts)
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(vocabulary),
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=64,
    )
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        tokenizer, sequence_length=sequence_length
    )
    backbone.save_to_preset(folder)
    preprocessor.save_to_preset(folder)
    return str(folder)


def tiny_vit_preset(folder, image_size=32, patch_size=8):
    """A 2-layer ViT (hidden size 16) on `image_size` squares; returns the folder."""
    converter = keras_hub.layers.ViTImageConverter(
        image_size=(image_size, image_size), scale=1 / 127.5, offset=-1.0
    )
    backbone = keras_hub.models.ViTBackbone(
        image_shape=(image_size, image_size, 3),
        patch_size=patch_size,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        mlp_dim=32,
    )
    keras_hub.models.ViTImageClassifierPreprocessor(image_converter=converter).save_to_preset(
        folder
    )
    backbone.save_to_preset(folder)
    return str(folder)


def tiny_resnet_preset(folder, image_size=32):
    """A two-stage ResNet with batch norm; its converter has no fixed size unless given."""
    converter = keras_hub.layers.ResNetImageConverter(
        image_size=(image_size, image_size), scale=1 / 255.0
    )
    backbone = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[3],
        stackwise_num_filters=[64, 32],
        stackwise_num_blocks=[1, 1],
        stackwise_num_strides=[1, 2],
        block_type="basic_block",
        use_pre_activation=False,
        image_shape=(None, None, 3),
    )
    keras_hub.models.ResNetImageClassifierPreprocessor(image_converter=converter).save_to_preset(
        folder
    )
    backbone.save_to_preset(folder)
    return str(folder)


def tiny_gpt2_preset(folder, texts, sequence_length=32):
    """A 2-layer GPT-2 with a byte-level vocabulary and merges of frequent pairs from `texts`."""
    byte_chars = list(bytes_to_unicode()[1])
    vocabulary = {"<|endoftext|>": 0}
    for char in byte_chars:
        vocabulary.setdefault(char, len(vocabulary))
    merges = []
    space = bytes_to_unicode()[1][ord(" ")]
    words = {}
    for text in texts:
        for word in text.split():
            words[word] = words.get(word, 0) + 1
    for word in sorted(words, key=lambda w: -words[w])[:60]:
        pieces = [space, *word]
        merged = pieces[0]
        for piece in pieces[1:]:
            if merged + piece in vocabulary:
                merged += piece
                continue
            merges.append(f"{merged} {piece}")
            merged += piece
            vocabulary[merged] = len(vocabulary)
    tokenizer = keras_hub.models.GPT2Tokenizer(vocabulary=vocabulary, merges=merges)
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=len(vocabulary),
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=128,
    )
    preprocessor = keras_hub.models.GPT2CausalLMPreprocessor(
        tokenizer, sequence_length=sequence_length
    )
    keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=preprocessor).save_to_preset(
        folder
    )
    return str(folder)
