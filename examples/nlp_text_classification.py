"""Text classification with masked-language-model pretraining, end to end.

Pretrains a TextClassifier's tokenizer and transformer encoder on the
shipped unlabelled review corpus (masked-LM), fine-tunes it on the labelled
reviews' sentiment, compares it with TF-IDF + logistic regression on held-out
reviews, and shows which words drove three predictions. Then saves the
pretrained backbone and reuses it, as another classifier, for the reviews'
topic (four classes).

    python examples/nlp_text_classification.py [--epochs 3] [--out-dir DIR]
"""

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from domains.nlp import TextClassifier

NLP_DATA = Path(__file__).resolve().parents[1] / "sample_data" / "nlp"


def tfidf_accuracy(train_texts, train_labels, test_texts, test_labels):
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    model = LogisticRegression(C=4.0, max_iter=2000)
    model.fit(vectorizer.fit_transform(train_texts), train_labels)
    return model.score(vectorizer.transform(test_texts), test_labels)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(NLP_DATA), help="folder with reviews.csv, corpus.txt")
    parser.add_argument("--epochs", type=int, default=3, help="masked-LM pretraining epochs")
    parser.add_argument("--out-dir", help="where to save the models (default: a temporary folder)")
    args = parser.parse_args(argv)
    out_dir = args.out_dir or tempfile.mkdtemp(prefix="keras-domains-nlp-")

    reviews = pd.read_csv(Path(args.data) / "reviews.csv", keep_default_na=False)
    corpus = (Path(args.data) / "corpus.txt").read_text(encoding="utf-8").splitlines()
    train, test = train_test_split(
        reviews, test_size=0.25, stratify=reviews["sentiment"], random_state=0
    )
    print(f"{len(corpus)} unlabelled texts, {len(train)} labelled for training, {len(test)} test")

    model = TextClassifier(random_state=0, verbose=0)
    # Writes the tokenizer and encoder to a file and sets `start_from` to it.
    backbone = os.path.join(out_dir, "reviews_encoder.kdm")
    model.pretrain(corpus + train["text"].tolist(), backbone, epochs=args.epochs)
    losses = ", ".join(f"{loss:.2f}" for loss in model.pretrain_history_["loss"])
    print(f"masked-LM loss per epoch: {losses}")

    model.fit(train["text"], train["sentiment"])
    report = model.report(test["text"], test["sentiment"])
    baseline = tfidf_accuracy(train["text"], train["sentiment"], test["text"], test["sentiment"])
    print(
        f"sentiment accuracy {report['accuracy']:.3f} (ROC AUC {report['roc_auc']:.3f}); "
        f"TF-IDF + logistic regression {baseline:.3f}; encoder kept: {model.deep_path_kept_}"
    )

    for text, pairs in zip(test["text"][:3], model.explain(test["text"][:3].tolist()), strict=True):
        label = model.predict([text])[0]
        top = sorted(pairs, key=lambda pair: -abs(pair[1]))[:4]
        words = ", ".join(f"{word} {score:+.2f}" for word, score in top)
        print(f"\n{text}\n  -> {label}; strongest words: {words}")

    topics = TextClassifier(start_from=backbone, random_state=0)
    topics.fit(train["text"], train["topic"])
    topic_baseline = tfidf_accuracy(train["text"], train["topic"], test["text"], test["topic"])
    print(
        f"\ntopic accuracy from the encoder: {topics.score(test['text'], test['topic']):.3f}"
        f" (TF-IDF + logistic regression {topic_baseline:.3f})"
    )
    path = model.save(os.path.join(out_dir, "sentiment.kdm"))
    restored = TextClassifier.load(path)
    assert (restored.predict(test["text"]) == model.predict(test["text"])).all()
    print(f"saved and reloaded {path}")


if __name__ == "__main__":
    main()
