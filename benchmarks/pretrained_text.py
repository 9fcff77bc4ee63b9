"""A keras-hub BERT pretrained on your own texts, then `TextClassifier(backbone=<folder>)`.

The pipeline a user without network access follows, end to end on the
sample data:

1. a WordPiece vocabulary from the unlabelled texts
   (`keras_hub.tokenizers.compute_word_piece_vocabulary`) and a small BERT
   (`keras_hub.models.BertBackbone`; default: 2 layers, hidden 128, 2 heads,
   intermediate 512, the shape of keras-hub's `bert_tiny_en_uncased`);
2. masked-LM pretraining with keras-hub's own `BertMaskedLM` and
   `BertMaskedLMPreprocessor` (new masks every epoch; masked-LM loss and
   accuracy per masked token, per epoch), the backbone and a
   `BertTextClassifierPreprocessor` on the same tokenizer saved with
   `save_to_preset` to a folder; a second folder holds the same
   architecture with random weights and the same tokenizer;
3. `TextClassifier(backbone=<folder>)` fitted on `--labelled` (default
   500) labelled reviews by `fine_tune="full"`, `lora_rank=8` and
   `fine_tune="frozen"`, on the pretrained and the random folder, with
   `ngrams=False` (the encoder alone: where pretraining has to show) and
   `ngrams=True` (the default wide-and-deep model, with the keep rule).
   Full fine-tuning runs at every `--full-factors` (`fine_tune_factor`;
   default "auto", the library's default, 0.05 and 1.0) and LoRA at every
   `--lora-learning-rates` (default 1e-3, the library's default, and
   3e-3) with `ngrams=False`; with `ngrams=True` only the first of each.

References measured in the same run, on the same rows: the project's
built-in route (`TextClassifier().pretrain(texts, path)`, then `fit` with
`start_from=path`) and TF-IDF 1-2-grams + logistic regression.

Data: `sample_data/nlp/reviews.csv` (2,000 reviews; `--target sentiment`,
2 classes, the default, or `topic`, 4 classes; ROC AUC one-vs-rest there).
A fixed, stratified test set of `--test` reviews (default 1,000, seed 0)
is held out once and never seen, not even by the vocabulary or the
pretraining. The other reviews are the pool: for each seed, `--labelled`
reviews are drawn from it, stratified, with that seed; the pool's texts
(labels unused) and the 8,000 lines of `sample_data/nlp/corpus.txt` are
the unlabelled texts both pretrainings read, once per run. Every
classifier is fitted with `random_state=seed`.

Table: accuracy and ROC AUC, mean ± sd over the seeds; the gain of
pretrained over random weights for full fine-tuning and LoRA, per seed
and on average; `deep_path_kept_` of the wide-and-deep fits.

Run from the repository root:

    python -m benchmarks.pretrained_text            # about 25 min on 2 cores
    python -m benchmarks.pretrained_text --quick    # a smoke test, under 3 min
        [--mlm-epochs 8] [--seeds 0 1 2] [--labelled 500] [--preset-dir DIR]
        [--target topic] [--lora-learning-rates 1e-3 3e-3] [--full-factors auto 0.05 1.0]
        [--json out.json]

The exit status is 1 when pretraining does not lower the masked-LM loss or
when the pretrained encoder alone (full fine-tuning, `ngrams=False`) does
not beat random weights on mean accuracy.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from benchmarks.run_environment import run_environment

REPO_ROOT = Path(__file__).resolve().parents[1]
REVIEWS_CSV = REPO_ROOT / "sample_data" / "nlp" / "reviews.csv"
CORPUS_TXT = REPO_ROOT / "sample_data" / "nlp" / "corpus.txt"
TARGET = "sentiment"
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
#: The small BERT pretrained here (keras-hub's `bert_tiny_en_uncased` shape).
BERT_CONFIG = {
    "num_layers": 2,
    "num_heads": 2,
    "hidden_dim": 128,
    "intermediate_dim": 512,
    "max_sequence_length": 128,
}
#: The TextClassifier configurations on a preset folder: (key, label, parameters).
PRESET_MODES = (
    ("full", "full fine-tuning", {"fine_tune": "full"}),
    ("lora", "LoRA rank 8", {"lora_rank": 8}),
    ("frozen", "frozen encoder", {"fine_tune": "frozen"}),
)
#: The modes also run from random weights.
RANDOM_MODES = ("full", "lora")


# ------------------------------------------------------------------ data
def load_data():
    reviews = pd.read_csv(REVIEWS_CSV, keep_default_na=False)
    with open(CORPUS_TXT, encoding="utf-8") as f:
        corpus = [line.rstrip("\n") for line in f if line.strip()]
    return reviews, corpus


def split_reviews(reviews, test_size, seed=0, target=TARGET):
    """The fixed stratified test set and the pool the labelled rows are drawn from."""
    from sklearn.model_selection import train_test_split

    pool, test = train_test_split(
        reviews, test_size=test_size, stratify=reviews[target], random_state=seed
    )
    return pool, test


def sample_labelled(pool, n, seed, target=TARGET):
    """`n` rows of the pool, stratified by the target, drawn with `seed`."""
    from sklearn.model_selection import train_test_split

    if n >= len(pool):
        return pool
    labelled, _ = train_test_split(pool, train_size=n, stratify=pool[target], random_state=seed)
    return labelled


# --------------------------------------------------- vocabulary and BERT
def word_piece_vocabulary(texts, size=4000):
    """A WordPiece vocabulary of at most `size` tokens, BERT's special tokens first.

    keras-hub reads a list of strings as file names; the texts go in as a
    `tf.data.Dataset`.
    """
    import keras_hub
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices(list(texts)).batch(256)
    return keras_hub.tokenizers.compute_word_piece_vocabulary(
        data, vocabulary_size=size, lowercase=True, reserved_tokens=SPECIAL_TOKENS
    )


def bert_backbone(vocabulary_size, config=None, seed=0):
    """A `BertBackbone` with random weights drawn with `seed`."""
    import keras_hub

    keras.utils.set_random_seed(seed)
    return keras_hub.models.BertBackbone(vocabulary_size=vocabulary_size, **(config or BERT_CONFIG))


def pretrain_masked_lm(
    backbone,
    tokenizer,
    texts,
    epochs,
    sequence_length=64,
    batch_size=64,
    learning_rate=1e-3,
    seed=0,
    verbose=0,
):
    """Masked-LM pretraining with keras-hub's `BertMaskedLM`; trains `backbone` in place.

    New masks every epoch (the preprocessor runs in the input pipeline):
    15% of the tokens selected, of those 80% `[MASK]`, 10% a random token,
    10% kept. AdamW with a linear warm-up over the first 10% of the steps,
    then a cosine decay to zero.

    Returns:
        dict: `loss` and `accuracy` per epoch (per masked token), `seconds`,
        `steps_per_epoch`, `texts`.
    """
    import keras_hub
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    preprocessor = keras_hub.models.BertMaskedLMPreprocessor(
        tokenizer,
        sequence_length=sequence_length,
        mask_selection_length=int(np.ceil(0.15 * sequence_length)) + 4,
    )
    model = keras_hub.models.BertMaskedLM(backbone=backbone, preprocessor=preprocessor)
    steps = int(np.ceil(len(texts) / batch_size))
    total = max(1, steps * epochs)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0,
        decay_steps=total,
        warmup_target=learning_rate,
        warmup_steps=max(1, total // 10),
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        # Weighted by the preprocessor's mask weights: per masked token.
        weighted_metrics=[
            keras.metrics.SparseCategoricalCrossentropy(from_logits=True, name="token_loss"),
            keras.metrics.SparseCategoricalAccuracy(name="token_accuracy"),
        ],
    )
    data = tf.data.Dataset.from_tensor_slices(list(texts))
    data = data.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    started = time.perf_counter()
    with warnings.catch_warnings():  # BERT's pooled output gets no gradient from the MLM loss.
        warnings.simplefilter("ignore", UserWarning)
        history = model.fit(data, epochs=epochs, verbose=verbose)
    return {
        "loss": [float(v) for v in history.history["token_loss"]],
        "accuracy": [float(v) for v in history.history["token_accuracy"]],
        "seconds": time.perf_counter() - started,
        "steps_per_epoch": steps,
        "texts": len(texts),
        "sequence_length": sequence_length,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
    }


def write_preset(folder, backbone, vocabulary, sequence_length=128):
    """Saves `backbone` and a `BertTextClassifierPreprocessor` on `vocabulary` to `folder`."""
    import keras_hub

    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        tokenizer, sequence_length=sequence_length
    )
    os.makedirs(folder, exist_ok=True)
    backbone.save_to_preset(folder)
    preprocessor.save_to_preset(folder)
    return str(folder)


def build_presets(texts, folder, epochs, vocabulary_size=4000, config=None, seed=0, **pretrain):
    """The pretrained and the random-weights preset folders under `folder`.

    Returns:
        `(pretrained_folder, random_folder, info)`, `info` with the
        vocabulary size, parameter count and the pretraining history.
    """
    import keras_hub

    started = time.perf_counter()
    vocabulary = word_piece_vocabulary(texts, vocabulary_size)
    vocabulary_seconds = time.perf_counter() - started
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    backbone = bert_backbone(len(vocabulary), config, seed)
    history = pretrain_masked_lm(backbone, tokenizer, texts, epochs, seed=seed, **pretrain)
    # The classifier preprocessor's length must not exceed the position embeddings'.
    length = min(128, backbone.max_sequence_length)
    pretrained = write_preset(os.path.join(folder, "pretrained"), backbone, vocabulary, length)
    random_weights = bert_backbone(len(vocabulary), config, seed + 1)
    untrained = write_preset(os.path.join(folder, "random"), random_weights, vocabulary, length)
    info = {
        "vocabulary_size": len(vocabulary),
        "vocabulary_seconds": vocabulary_seconds,
        "backbone_parameters": int(backbone.count_params()),
        "config": dict(config or BERT_CONFIG),
        "pretraining": history,
    }
    return pretrained, untrained, info


# ------------------------------------------------------------- fitting
def score(clf, test, target=TARGET):
    """Accuracy and ROC AUC (one-vs-rest, macro, above two classes) on `test`."""
    from sklearn.metrics import accuracy_score, roc_auc_score

    proba = clf.predict_proba(test["text"])
    classes = np.asarray(clf.classes_)
    predicted = classes[np.argmax(proba, axis=1)]
    y = test[target].to_numpy()
    if len(classes) == 2:
        auc = roc_auc_score(y == classes[1], proba[:, 1])
    else:
        auc = roc_auc_score(y, proba, multi_class="ovr", labels=classes)
    return {"accuracy": float(accuracy_score(y, predicted)), "roc_auc": float(auc)}


def fit_classifier(params, train, test, target=TARGET):
    """Fits `TextClassifier(**params)` on `train`; accuracy, ROC AUC, seconds, epochs."""
    from domains.nlp import TextClassifier

    clf = TextClassifier(**params)
    with warnings.catch_warnings():  # Reviews longer than the encoder's length are cut.
        warnings.filterwarnings("ignore", ".* texts are longer than the encoder", UserWarning)
        started = time.perf_counter()
        clf.fit(train["text"], train[target])
        seconds = time.perf_counter() - started
        scores = score(clf, test, target)
    return {
        **scores,
        "fit_s": seconds,
        "epochs": int(clf.n_epochs_),
        "deep_path_kept": bool(getattr(clf, "deep_path_kept_", True)),
    }


def tfidf_lr(train, test, target=TARGET):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    model = LogisticRegression(C=4.0, max_iter=2000)
    model.fit(vectorizer.fit_transform(train["text"]), train[target])
    seconds = time.perf_counter() - started
    return {**score(model_as_classifier(model, vectorizer), test, target), "fit_s": seconds}


def model_as_classifier(model, vectorizer):
    class Wrapped:
        classes_ = model.classes_

        @staticmethod
        def predict_proba(texts):
            return model.predict_proba(vectorizer.transform(texts))

    return Wrapped


def configurations(presets, builtin_path, args):
    """`{key: (label, TextClassifier parameters without random_state)}` in table order.

    LoRA runs at every `--lora-learning-rates` with `ngrams=False` and at the
    first with `ngrams=True`.
    """
    pretrained, untrained = presets
    common = {"max_epochs": args.max_epochs, "patience": args.patience}
    rows = {}
    for ngrams in (False, True):
        suffix = "" if ngrams else "_deep"
        modes = []
        for key, label, params in PRESET_MODES:
            if key == "lora":
                rates = args.lora_learning_rates[:1] if ngrams else args.lora_learning_rates
                for i, rate in enumerate(rates):
                    name = key if i == 0 else f"{key}_lr{rate:g}"
                    modes.append((name, f"{label}, lr {rate:g}", {**params, "learning_rate": rate}))
            elif key == "full":
                factors = args.full_factors[:1] if ngrams else args.full_factors
                for i, factor in enumerate(factors):
                    name = key if i == 0 else f"{key}_x{factor}"
                    rate = "auto" if factor == "auto" else f"{1e-3 * float(factor):g}"
                    modes.append(
                        (name, f"{label}, lr {rate}", {**params, "fine_tune_factor": factor})
                    )
            else:
                modes.append((key, label, params))
        for key, label, params in modes:
            params = {**params, **common, "ngrams": ngrams}
            rows[f"pretrained_{key}{suffix}"] = (
                f"BERT pretrained, {label}",
                {**params, "backbone": pretrained},
            )
            if key.split("_")[0] in RANDOM_MODES:
                rows[f"random_{key}{suffix}"] = (
                    f"BERT random, {label}",
                    {**params, "backbone": untrained},
                )
        if builtin_path is not None:
            rows[f"builtin{suffix}"] = (
                "built-in pretrain + start_from",
                {**common, "ngrams": ngrams, "start_from": builtin_path},
            )
    return rows


def run_seed(seed, pool, test, rows, args):
    labelled = sample_labelled(pool, args.labelled, seed, args.target)
    result = {"seed": seed, "labelled": len(labelled), "test": len(test)}
    result["tfidf_lr"] = tfidf_lr(labelled, test, args.target)
    _progress(seed, "TF-IDF + LR", result["tfidf_lr"])
    for key, (label, params) in rows.items():
        result[key] = fit_classifier({**params, "random_state": seed}, labelled, test, args.target)
        ngrams = "ngrams=False" if key.endswith("_deep") else "ngrams=True"
        _progress(seed, f"{label}, {ngrams}", result[key])
    return result


def _progress(seed, name, result):
    print(
        f"[seed {seed}] {name}: accuracy {result['accuracy']:.4f}, AUC {result['roc_auc']:.4f}, "
        f"fit {result['fit_s']:.1f} s"
        + (f", {result['epochs']} epochs" if "epochs" in result else ""),
        file=sys.stderr,
        flush=True,
    )


def summarise(per_seed, keys):
    summary = {}
    for key in keys:
        rows = [row[key] for row in per_seed]
        summary[key] = {
            metric: {
                "mean": float(np.mean([r[metric] for r in rows])),
                "sd": float(np.std([r[metric] for r in rows], ddof=1)) if len(rows) > 1 else 0.0,
            }
            for metric in ("accuracy", "roc_auc", "fit_s")
        }
        if "deep_path_kept" in rows[0]:
            summary[key]["deep_path_kept_rate"] = float(
                np.mean([r["deep_path_kept"] for r in rows])
            )
            summary[key]["mean_epochs"] = float(np.mean([r["epochs"] for r in rows]))
    gains = {}
    for key in keys:
        if not key.startswith("random_"):
            continue
        base, other = key, "pretrained_" + key[len("random_") :]
        entry = {}
        for metric in ("accuracy", "roc_auc"):
            values = [row[other][metric] - row[base][metric] for row in per_seed]
            entry[metric] = {
                "per_seed": values,
                "mean": float(np.mean(values)),
                "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
                "wins": int(sum(v > 0 for v in values)),
            }
        gains[key[len("random_") :]] = entry
    summary["gains"] = gains
    return summary


# ---------------------------------------------------------------- report
def _cell(stats, metric):
    return f"{stats[metric]['mean']:.4f} ± {stats[metric]['sd']:.4f}"


def print_report(results):
    args, summary, info = results["args"], results["summary"], results["presets"]
    history = info["pretraining"]
    first = results["per_seed"][0]
    config = info["config"]
    print()
    print(
        f"## Pretrained keras-hub BERT vs random weights: target {args['target']}, "
        f"{first['labelled']} labelled reviews, {first['test']} test, seeds {args['seeds']}"
    )
    print()
    print(
        f"BERT {config['num_layers']} layers, hidden {config['hidden_dim']}, "
        f"{config['num_heads']} heads, intermediate {config['intermediate_dim']}: "
        f"{info['backbone_parameters']:,} parameters, WordPiece vocabulary "
        f"{info['vocabulary_size']} (computed in {info['vocabulary_seconds']:.1f} s). "
        f"Masked-LM pretraining on {history['texts']:,} unlabelled texts, "
        f"{len(history['loss'])} epochs of {history['steps_per_epoch']} steps "
        f"(batch {history['batch_size']}, {history['sequence_length']} tokens, peak learning "
        f"rate {history['learning_rate']:g}) in {history['seconds']:.0f} s."
    )
    print()
    print("| MLM epoch | loss per masked token | accuracy |")
    print("|---:|---:|---:|")
    for epoch, (loss, accuracy) in enumerate(
        zip(history["loss"], history["accuracy"], strict=True), 1
    ):
        print(f"| {epoch} | {loss:.3f} | {accuracy:.3f} |")
    print()
    print(
        "| model | ngrams | accuracy (mean ± sd) | ROC AUC (mean ± sd) | fit s | epochs "
        "| deep path kept |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    print(
        f"| TF-IDF 1-2-grams + LR (C=4) | - | {_cell(summary['tfidf_lr'], 'accuracy')} "
        f"| {_cell(summary['tfidf_lr'], 'roc_auc')} "
        f"| {summary['tfidf_lr']['fit_s']['mean']:.1f} | - | - |"
    )
    for key, label in results["labels"].items():
        stats = summary[key]
        ngrams = "False" if key.endswith("_deep") else "True"
        kept = "-" if ngrams == "False" else f"{stats['deep_path_kept_rate']:.0%}"
        print(
            f"| {label} | {ngrams} | {_cell(stats, 'accuracy')} | {_cell(stats, 'roc_auc')} "
            f"| {stats['fit_s']['mean']:.1f} | {stats['mean_epochs']:.1f} | {kept} |"
        )
    print()
    print("Gain of pretrained over random weights (same architecture, tokenizer, seeds):")
    print()
    print("| mode | ngrams | accuracy gain per seed | mean ± sd | wins | AUC gain mean ± sd |")
    print("|---|---|---|---:|---:|---:|")
    for key, gain in summary["gains"].items():
        mode, ngrams = (key[:-5], "False") if key.endswith("_deep") else (key, "True")
        mode = results["labels"][f"pretrained_{key}"].split(", ", 1)[1]
        acc, auc = gain["accuracy"], gain["roc_auc"]
        cells = " ".join(f"{v:+.4f}" for v in acc["per_seed"])
        print(
            f"| {mode} | {ngrams} | {cells} | {acc['mean']:+.4f} ± {acc['sd']:.4f} "
            f"| {acc['wins']}/{len(acc['per_seed'])} | {auc['mean']:+.4f} ± {auc['sd']:.4f} |"
        )
    if "builtin" in results:
        builtin = results["builtin"]
        losses = " ".join(f"{v:.2f}" for v in builtin["loss"])
        print()
        print(
            f"Built-in route: `TextClassifier().pretrain(texts, path, epochs="
            f"{builtin['epochs']})` in {builtin['seconds']:.0f} s (masked-LM loss per epoch "
            f"{losses}), then `TextClassifier(start_from=path)`."
        )
    print()
    for name, passed in results["checks"].items():
        print(f"- {name}: {'PASS' if passed else 'FAIL'}")
    print(f"\nTotal time {results['seconds'] / 60:.1f} min.")


# ------------------------------------------------------------------ main
def _factor(text):
    """A `fine_tune_factor` from the command line: `auto` or a number."""
    return text if text == "auto" else float(text)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.pretrained_text",
        description="A keras-hub BERT pretrained on the sample texts vs random weights, "
        "fine-tuned by TextClassifier with few labels.",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke test, under 3 minutes")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds (default 0 1 2; quick: 0)")
    parser.add_argument("--labelled", type=int, default=500, help="labelled training reviews")
    parser.add_argument("--test", type=int, help="fixed test reviews (default 1000; quick 400)")
    parser.add_argument("--mlm-epochs", type=int, help="masked-LM epochs (default 8; quick 2)")
    parser.add_argument(
        "--corpus-lines", type=int, help="corpus lines pretrained on (default all; quick 1500)"
    )
    parser.add_argument("--mlm-learning-rate", type=float, default=2e-3, help="peak MLM rate")
    parser.add_argument("--vocabulary-size", type=int, default=4000, help="WordPiece size cap")
    parser.add_argument(
        "--max-epochs", type=int, help="TextClassifier max_epochs (default 12; quick 2)"
    )
    parser.add_argument("--patience", type=int, default=3, help="TextClassifier patience")
    parser.add_argument(
        "--lora-learning-rates",
        type=float,
        nargs="+",
        help="learning_rate of the LoRA fits (default 1e-3 3e-3, quick 1e-3; the first also "
        "with ngrams=True)",
    )
    parser.add_argument(
        "--full-factors",
        type=_factor,
        nargs="+",
        help="fine_tune_factor of the full fits, numbers or 'auto' (default auto 0.05 1.0, "
        "quick auto; the first also with ngrams=True)",
    )
    parser.add_argument("--target", choices=("sentiment", "topic"), default=TARGET)
    parser.add_argument("--no-builtin", action="store_true", help="skip the built-in route")
    parser.add_argument("--preset-dir", help="write the preset folders here (default: temp)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure as JSON")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "seeds": [0] if quick else [0, 1, 2],
        "test": 400 if quick else 1000,
        "mlm_epochs": 2 if quick else 8,
        "corpus_lines": 1500 if quick else None,
        "max_epochs": 2 if quick else 12,
        "lora_learning_rates": [1e-3] if quick else [1e-3, 3e-3],
        "full_factors": ["auto"] if quick else ["auto", 0.05, 1.0],
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f"--seeds must be distinct. Received: {args.seeds}")
    return args


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"Machine: {os.cpu_count()} CPU(s), load average now {load}", flush=True)
    reviews, corpus = load_data()
    if args.corpus_lines is not None:
        corpus = corpus[: args.corpus_lines]
    pool, test = split_reviews(reviews, args.test, target=args.target)
    if args.labelled > len(pool):
        raise SystemExit(f"--labelled must be at most the pool's {len(pool)} reviews")
    if args.quick:
        pool = pool.iloc[: max(args.labelled, 600)]
    texts = corpus + pool["text"].tolist()
    with tempfile.TemporaryDirectory(prefix="pretrained_text_") as scratch:
        folder = args.preset_dir or scratch
        pretrained, untrained, info = build_presets(
            texts,
            folder,
            args.mlm_epochs,
            vocabulary_size=args.vocabulary_size,
            learning_rate=args.mlm_learning_rate,
        )
        history = info["pretraining"]
        print(
            f"pretraining: {history['seconds']:.0f} s, masked-LM loss per epoch "
            + " ".join(f"{v:.3f}" for v in history["loss"])
            + ", accuracy "
            + " ".join(f"{v:.3f}" for v in history["accuracy"]),
            file=sys.stderr,
            flush=True,
        )
        builtin = None
        builtin_path = None
        if not args.no_builtin:
            from domains.nlp import TextClassifier

            builtin_path = os.path.join(scratch, "builtin_encoder.kdm")
            clf = TextClassifier(random_state=0)
            t0 = time.perf_counter()
            clf.pretrain(texts, builtin_path, epochs=args.mlm_epochs)
            builtin = {
                "epochs": args.mlm_epochs,
                "seconds": time.perf_counter() - t0,
                "loss": [float(v) for v in clf.pretrain_history_["loss"]],
            }
            print(f"built-in pretraining: {builtin['seconds']:.0f} s", file=sys.stderr)
        rows = configurations((pretrained, untrained), builtin_path, args)
        per_seed = [run_seed(seed, pool, test, rows, args) for seed in args.seeds]
    keys = ["tfidf_lr", *rows]
    summary = summarise(per_seed, keys)
    checks = {
        "masked-LM pretraining lowers the loss per masked token": history["loss"][-1]
        < history["loss"][0],
        "pretrained > random, full fine-tuning, ngrams=False (mean accuracy)": summary["gains"][
            "full_deep"
        ]["accuracy"]["mean"]
        > 0,
    }
    results = {
        "benchmark": "pretrained_text",
        "labels": {key: label for key, (label, _) in rows.items()},
        "params": {
            key: {k: v for k, v in p.items() if k not in ("backbone", "start_from")}
            for key, (_, p) in rows.items()
        },
        "presets": info,
        "builtin": builtin,
        "per_seed": per_seed,
        "summary": summary,
        "checks": checks,
        "seconds": time.perf_counter() - started,
        "environment": run_environment(),
        "args": vars(args),
    }
    if builtin is None:
        results.pop("builtin")
    print_report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
