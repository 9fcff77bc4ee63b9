"""Fine-tuning pretrained keras-hub backbones through the scikit-learn API, offline.

Text: pretrains a small BERT with keras-hub's masked-LM task on the shipped
unlabelled review corpus (or takes `--text-preset`, a keras-hub preset name
or folder you already have), saves it as a preset folder, and fine-tunes
`TextClassifier(backbone=<folder>)` on 500 labelled reviews with LoRA and
with full fine-tuning; compares both with TF-IDF + logistic regression on
held-out reviews, explains one review, reloads the saved model with the
preset folder gone, and feeds `embed()` features to a scikit-learn model.

Images (only with `--image-preset`, e.g. `efficientnet_b0_ra_imagenet` once
downloaded, or a folder): fine-tunes `ImageClassifier` on the shipped shapes
with the backbone frozen, and reports held-out accuracy.

    python examples/pretrained_backbones.py [--epochs 4] [--text-preset NAME_OR_FOLDER]
        [--image-preset NAME_OR_FOLDER] [--out-dir DIR]

Needs the `hub` extra: pip install -e ".[hub]".
"""

import argparse
import os
import shutil
import tempfile
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from domains.nlp import TextClassifier

DATA = Path(__file__).resolve().parents[1] / "sample_data"


def pretrain_small_bert(texts, folder, epochs, sequence_length=128):
    """Masked-LM pretraining of a 2-layer BERT on `texts`; saved as a preset folder."""
    import keras
    import keras_hub
    import tensorflow as tf

    # keras-hub reads a list of strings as file names: the texts go in as a dataset.
    vocabulary = keras_hub.tokenizers.compute_word_piece_vocabulary(
        tf.data.Dataset.from_tensor_slices(texts).batch(256),
        vocabulary_size=4000,
        lowercase=True,
        reserved_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    )
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(vocabulary),
        num_layers=2,
        num_heads=2,
        hidden_dim=128,
        intermediate_dim=512,
        max_sequence_length=sequence_length,
    )
    masked_lm = keras_hub.models.BertMaskedLM(
        backbone=backbone,
        preprocessor=keras_hub.models.BertMaskedLMPreprocessor(
            tokenizer, sequence_length=sequence_length
        ),
    )
    masked_lm.compile(optimizer=keras.optimizers.AdamW(5e-4), weighted_metrics=["accuracy"])
    history = masked_lm.fit(texts, batch_size=32, epochs=epochs, verbose=0).history
    for epoch, loss in enumerate(history["loss"], 1):
        accuracy = history["accuracy"][epoch - 1]
        print(f"  masked-LM epoch {epoch}: loss {loss:.3f}, masked-token accuracy {accuracy:.3f}")
    backbone.save_to_preset(folder)
    keras_hub.models.BertTextClassifierPreprocessor(
        tokenizer, sequence_length=sequence_length
    ).save_to_preset(folder)
    return folder


def text_part(args, out_dir):
    reviews = pd.read_csv(DATA / "nlp" / "reviews.csv", keep_default_na=False)
    corpus = (DATA / "nlp" / "corpus.txt").read_text(encoding="utf-8").splitlines()
    pool, test = train_test_split(
        reviews, test_size=0.5, stratify=reviews["sentiment"], random_state=0
    )
    train = pool.sample(500, random_state=0)
    preset = args.text_preset
    if preset is None:
        preset = os.path.join(out_dir, "reviews_bert")
        print(f"Pretraining a small BERT on {len(corpus)} unlabelled texts ...")
        pretrain_small_bert(corpus + pool["text"].tolist(), preset, args.epochs)
    print(f"Fine-tuning TextClassifier(backbone={preset!r}) on {len(train)} reviews")

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    baseline = LogisticRegression(C=4.0, max_iter=2000)
    baseline.fit(vectorizer.fit_transform(train["text"]), train["sentiment"])
    accuracy = baseline.score(vectorizer.transform(test["text"]), test["sentiment"])
    print(f"  TF-IDF + logistic regression: accuracy {accuracy:.3f}")

    for name, params in [("LoRA rank 8", {"lora_rank": 8}), ("full", {"fine_tune": "full"})]:
        model = TextClassifier(backbone=preset, random_state=0, max_epochs=8, **params)
        model.fit(train["text"], train["sentiment"])
        report = model.report(test["text"], test["sentiment"])
        print(
            f"  {name}: accuracy {report['accuracy']:.3f}, ROC AUC {report['roc_auc']:.3f}, "
            f"encoder kept by the keep rule: {model.deep_path_kept_}"
        )

    path = model.save(os.path.join(out_dir, "reviews_bert.kdm"))
    if args.text_preset is None:
        shutil.rmtree(preset)  # The saved model needs nothing of the preset folder.
    reloaded = TextClassifier.load(path)
    review = test["text"].iloc[0]
    words = sorted(reloaded.explain([review])[0], key=lambda pair: -abs(pair[1]))[:6]
    print(f"  review: {review[:90]!r}")
    print("  words that moved it most: " + ", ".join(f"{w} {s:+.2f}" for w, s in words))

    features = reloaded.embed(train["text"])
    probe = LogisticRegression(max_iter=2000).fit(features, train["sentiment"])
    accuracy = probe.score(reloaded.embed(test["text"]), test["sentiment"])
    print(f"  logistic regression on embed() features: accuracy {accuracy:.3f}")


def image_part(args):
    from core.preprocessing.image_preprocessor import scan_folder
    from domains.vision import ImageClassifier

    files, labels, _ = scan_folder(str(DATA / "vision" / "shapes"))
    train, test = train_test_split(
        np.arange(len(files)), test_size=0.25, stratify=labels, random_state=0
    )
    model = ImageClassifier(backbone=args.image_preset, fine_tune="frozen", random_state=0)
    model.fit([files[i] for i in train], labels[train])
    accuracy = model.score([files[i] for i in test], labels[test])
    print(f"ImageClassifier(backbone={args.image_preset!r}, frozen): accuracy {accuracy:.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4, help="masked-LM pretraining epochs")
    parser.add_argument("--text-preset", help="a keras-hub text encoder preset or folder to use")
    parser.add_argument("--image-preset", help="a keras-hub image backbone preset or folder")
    parser.add_argument("--out-dir", help="where to save (default: a temporary folder)")
    args = parser.parse_args(argv)
    out_dir = args.out_dir or tempfile.mkdtemp(prefix="keras-domains-presets-")
    warnings.simplefilter("ignore", UserWarning)  # Long reviews cut for the encoder.
    text_part(args, out_dir)
    if args.image_preset:
        image_part(args)


if __name__ == "__main__":
    main()
