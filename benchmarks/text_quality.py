"""Accuracy of `TextClassifier` against TF-IDF + logistic regression on real held-out text.

Data sets (nothing is downloaded): the docstrings of installed Python
packages, read from their source files with `ast` (the packages are found
with `importlib.util.find_spec` and never imported). Files are walked in
sorted order, `tests`/`test` folders skipped, and from each function or class
docstring the prose is kept: section headings and underlines, parameter
header lines (`x : array_like`, the `x:` of `x: the input`), doctest and
directive lines, and the Examples, See Also and References sections are
dropped. The names of the data set's packages and their usual aliases
(`np`, `pd`, `tf`, `plt`, ...) are removed from every text (case-insensitive),
so the label is not given away by the text naming it. Texts are deduplicated
(case-insensitive), texts found under two labels are dropped, and the rest is
capped per class by a fixed-seed sample. The data sets are built once and
cached as CSV under `--cache-dir` (default: a folder in the temp directory),
keyed by the package versions.

- topics: 8 classes, the package a docstring comes from (numpy, scipy,
  pandas, sklearn, tensorflow, keras, matplotlib, fontTools): the first 100
  words of each docstring's prose, at least 5 words; at most 1,500 per class
  (news-topic-like: several classes, texts of a few dozen words).
- snippets: 2 classes, numpy vs scipy: single sentences of 5 to 30 words from
  the docstrings' prose; at most 6,000 per class (short texts, binary, like
  movie-review snippets).

Models, all scored by accuracy on the same held-out rows: `--splits`
repeated stratified 80/20 splits (split seeds 0, 1, ...; the split seed is
also each model's `random_state`):

- TextClassifier: `TextClassifier(**params, random_state=seed)`, default
  parameters unless `--set key=value`.
- TextClassifier+MLM: the same with `pretrain_epochs=--pretrain-epochs`
  (default 2): masked-LM pretraining on the training texts inside `fit`.
- TF-IDF 1-2g + LR (CV C): `TfidfVectorizer(ngram_range=(1, 2),
  sublinear_tf=True, min_df=2)` + `LogisticRegression`, C chosen from
  1, 4, 16, 64 by 3-fold stratified CV (accuracy) on the training split,
  then refitted on the whole training split.
- TF-IDF 1g + LR: `TfidfVectorizer()` defaults + `LogisticRegression()`
  (C=1.0; `max_iter=2000` so that it converges).

Target: on every data set, the default TextClassifier's mean accuracy is
within `--tolerance` (default 0.01, one point) of the better TF-IDF model's.

Run from the repository root:

    python -m benchmarks.text_quality [--datasets topics snippets] [--splits 3]
        [--max-rows 3000] [--pretrain-epochs 2] [--models toolkit tfidf_cv]
        [--set vocabulary_size=16000] [--json out.json]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import ast
import hashlib
import importlib.metadata
import importlib.util
import json
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split

from benchmarks.settings import parse_settings
from domains.nlp import TextClassifier

DATASETS = ("topics", "snippets")
# Keys of the result rows, in table order, with their labels.
MODELS = {
    "toolkit": "TextClassifier",
    "pretrain": "TextClassifier+MLM",
    "tfidf_cv": "TF-IDF 1-2g + LR (CV C)",
    "tfidf_unigram": "TF-IDF 1g + LR",
}
TOOLKIT_MODELS = ("toolkit", "pretrain")
BASELINES = ("tfidf_cv", "tfidf_unigram")
C_GRID = (1.0, 4.0, 16.0, 64.0)
CV_FOLDS = 3
TEST_SIZE = 0.2
DEFAULT_PRETRAIN_EPOCHS = 2
GAP_TOLERANCE = 0.01
RESERVED = {
    "random_state": "--splits (the split seed is the model seed)",
    "pretrain_epochs": "--pretrain-epochs (the script runs 0 and that)",
}

# Import name -> (distribution whose version keys the cache, aliases removed from texts).
PACKAGES = {
    "numpy": ("numpy", ("numpy", "np")),
    "scipy": ("scipy", ("scipy",)),
    "pandas": ("pandas", ("pandas", "pd")),
    "sklearn": ("scikit-learn", ("sklearn", "scikit-learn", "scikit")),
    "tensorflow": ("tensorflow", ("tensorflow", "tf")),
    "keras": ("keras", ("keras",)),
    "matplotlib": ("matplotlib", ("matplotlib", "mpl", "pyplot", "plt")),
    "fontTools": ("fonttools", ("fonttools",)),
}
# name: (packages, unit of text, most rows per class, fewest rows per class).
SPECS = {
    "topics": (
        ("numpy", "scipy", "pandas", "sklearn", "tensorflow", "keras", "matplotlib", "fontTools"),
        "docstring",
        1500,
        600,
    ),
    "snippets": (("numpy", "scipy"), "sentence", 6000, 3000),
}
DOC_WORDS = 100  # Words kept of a docstring (topics).
MIN_WORDS = 5
SENTENCE_WORDS = (5, 30)  # Words per sentence (snippets), inclusive.
BUILD_VERSION = 1  # Bump when the extraction below changes; it keys the cache.
SKIPPED_DIRS = {"tests", "test", "__pycache__"}

# ------------------------------------------------------------ docstring prose
SECTION_NAMES = {
    "args",
    "arguments",
    "attributes",
    "call arguments",
    "example",
    "example usage",
    "examples",
    "input shape",
    "keyword arguments",
    "kwargs",
    "methods",
    "note",
    "notes",
    "other parameters",
    "output shape",
    "parameters",
    "properties",
    "raises",
    "reference",
    "references",
    "return",
    "returns",
    "see also",
    "usage",
    "warning",
    "warnings",
    "yield",
    "yields",
}
SKIPPED_SECTIONS = {"example", "example usage", "examples", "reference", "references", "see also"}
HEADING = re.compile(r"^\s*([A-Za-z][A-Za-z ]{1,30}?)\s*:?\s*$")
UNDERLINE = re.compile(r"^\s*[-=~^*]{3,}\s*$")
NUMPYDOC_PARAM = re.compile(r"^\s*\*{0,2}[A-Za-z_][\w, *]*\s+:(\s|$)")  # "x, y : array_like"
GOOGLE_PARAM = re.compile(r"^(\s*)\*{0,2}[A-Za-z_]\w*(\s*\([^)]*\))?:\s+")  # "x (int): "
MARKUP_LINE = (">>>", "...", ".. ", ":param", ":type", ":return", ":rtype", ":raises", "@")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def docstring_prose(doc):
    """The prose paragraphs of a docstring, each as one whitespace-normalised line."""
    lines = doc.splitlines()
    paragraphs, section = [[]], None
    for i, line in enumerate(lines):
        stripped = line.strip()
        following = lines[i + 1] if i + 1 < len(lines) else ""
        heading = HEADING.match(line)
        if heading and (
            UNDERLINE.match(following) or heading.group(1).strip().lower() in SECTION_NAMES
        ):
            section = heading.group(1).strip().lower()
            paragraphs.append([])
        elif not stripped or UNDERLINE.match(line):
            paragraphs.append([])
        elif section in SKIPPED_SECTIONS:
            continue
        elif stripped.startswith(MARKUP_LINE) or NUMPYDOC_PARAM.match(line):
            paragraphs.append([])
        else:
            paragraphs[-1].append(GOOGLE_PARAM.sub(r"\1", line).strip())
    return [" ".join(" ".join(p).split()) for p in paragraphs if p]


def package_docstrings(package):
    """Prose of every function and class docstring under an installed package, in a fixed order."""
    spec = importlib.util.find_spec(package)  # Finds, does not import, a top-level package.
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"Package {package!r} is not installed; it is needed for the data sets.")
    docs = []
    for root in sorted(spec.submodule_search_locations):
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
            for filename in sorted(f for f in filenames if f.endswith(".py")):
                try:
                    tree = ast.parse(Path(dirpath, filename).read_bytes())
                except (SyntaxError, ValueError):
                    continue
                for node in ast.walk(tree):
                    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                        doc = ast.get_docstring(node)
                        if doc:
                            docs.append(docstring_prose(doc))
    return docs


def _texts(docs, unit):
    if unit == "docstring":
        texts = (" ".join(" ".join(paragraphs).split()[:DOC_WORDS]) for paragraphs in docs)
    else:
        texts = (s for paragraphs in docs for p in paragraphs for s in SENTENCE_END.split(p))
    return list(texts)


def name_pattern(packages):
    aliases = sorted({a for p in packages for a in PACKAGES[p][1]}, key=len, reverse=True)
    return re.compile(
        r"(?<![a-z0-9])(?:" + "|".join(re.escape(a) for a in aliases) + r")(?![a-z0-9])",
        re.IGNORECASE,
    )


def build_dataset(name, docstrings):
    """The rows of a data set, from `{package: docstring prose}`: a DataFrame (text, label)."""
    packages, unit, cap, fewest = SPECS[name]
    names = name_pattern(packages)
    low, high = (MIN_WORDS, DOC_WORDS) if unit == "docstring" else SENTENCE_WORDS
    per_class = {}
    for package in packages:
        texts = (" ".join(names.sub(" ", t).split()) for t in _texts(docstrings[package], unit))
        texts = [t for t in texts if low <= len(t.split()) <= high]
        per_class[package] = list(dict.fromkeys(t for t in texts))
    keys = {p: {t.lower() for t in texts} for p, texts in per_class.items()}
    seen = {}
    for p in packages:
        for key in keys[p]:
            seen[key] = seen.get(key, 0) + 1
    rows = []
    rng = np.random.default_rng(0)
    for package in packages:
        lowered = {}  # Case-insensitive duplicates: keep the first.
        for t in per_class[package]:
            if seen[t.lower()] == 1:
                lowered.setdefault(t.lower(), t)
        texts = list(lowered.values())
        if len(texts) < fewest:
            raise SystemExit(
                f"{name}: only {len(texts)} texts from {package!r} (at least {fewest} needed)."
            )
        keep = np.sort(rng.permutation(len(texts))[:cap])
        rows.extend((texts[i], package) for i in keep)
    return pd.DataFrame(rows, columns=["text", "label"])


def _versions_key(names):
    versions = []
    for name in sorted({p for n in names for p in SPECS[n][0]}):
        try:
            versions.append(f"{name}={importlib.metadata.version(PACKAGES[name][0])}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name}=?")
    versions.append(f"python={platform.python_version()}")
    return hashlib.sha1(";".join(versions).encode()).hexdigest()[:10]


def load_datasets(names, cache_dir, rebuild=False):
    """`{name: DataFrame}`, read from the cache or built (then cached)."""
    cache_dir = Path(cache_dir)
    paths = {n: cache_dir / f"{n}-v{BUILD_VERSION}-{_versions_key([n])}.csv" for n in names}
    missing = [n for n in names if rebuild or not paths[n].exists()]
    frames = {}
    if missing:
        started = time.perf_counter()
        packages = sorted({p for n in missing for p in SPECS[n][0]})
        print(f"building {', '.join(missing)} from {', '.join(packages)} ...", file=sys.stderr)
        docstrings = {p: package_docstrings(p) for p in packages}
        cache_dir.mkdir(parents=True, exist_ok=True)
        for n in missing:
            frames[n] = build_dataset(n, docstrings)
            frames[n].to_csv(paths[n], index=False)
        print(
            f"built in {time.perf_counter() - started:.0f}s, cached in {cache_dir}",
            file=sys.stderr,
        )
    for n in names:
        if n not in frames:
            frames[n] = pd.read_csv(paths[n], keep_default_na=False)
    return frames, {n: str(p) for n, p in paths.items()}


# -------------------------------------------------------------------- models
def tfidf_cv(train_texts, train_y, seed):
    """TF-IDF 1-2 grams + LR, C chosen by 3-fold CV on the training texts; returns (model, C)."""

    def vectorizer():
        return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)

    cv = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=seed)
    correct = np.zeros(len(C_GRID))
    for inner_train, inner_val in cv.split(train_texts, train_y):
        features = vectorizer().fit(train_texts[inner_train])
        X_train = features.transform(train_texts[inner_train])
        X_val = features.transform(train_texts[inner_val])
        for k, C in enumerate(C_GRID):
            model = LogisticRegression(C=C, max_iter=2000).fit(X_train, train_y[inner_train])
            correct[k] += np.sum(model.predict(X_val) == train_y[inner_val])
    C = C_GRID[int(np.argmax(correct))]  # Ties: the smaller C.
    features = vectorizer().fit(train_texts)
    model = LogisticRegression(C=C, max_iter=2000).fit(features.transform(train_texts), train_y)
    return (features, model), C


def fit_score(model_name, frame, train, test, seed, params, pretrain_epochs):
    """Fits one model on `train` rows; returns (accuracy on `test` rows, fit seconds, info)."""
    texts, y = frame["text"].to_numpy(dtype=object), frame["label"].to_numpy(dtype=object)
    info = {}
    start = time.perf_counter()
    if model_name in TOOLKIT_MODELS:
        epochs = pretrain_epochs if model_name == "pretrain" else 0
        model = TextClassifier(**{**params, "pretrain_epochs": epochs, "random_state": seed})
        model.fit(list(texts[train]), y[train])
        seconds = time.perf_counter() - start
        predicted = model.predict(list(texts[test]))
        info = {
            "deep_path_kept": bool(getattr(model, "deep_path_kept_", True)),
            "epochs": int(model.n_epochs_),
            "ngram_C": getattr(model, "linear_C_", None),
            "sequence_length": int(model.encoder_config_["sequence_length"]),
            "vocabulary": int(model.encoder_config_["vocabulary_size"]),
        }
        keras.backend.clear_session()
    elif model_name == "tfidf_cv":
        (features, model), C = tfidf_cv(texts[train], y[train], seed)
        seconds = time.perf_counter() - start
        predicted = model.predict(features.transform(texts[test]))
        info = {"C": C}
    else:
        features = TfidfVectorizer().fit(texts[train])
        model = LogisticRegression(max_iter=2000).fit(features.transform(texts[train]), y[train])
        seconds = time.perf_counter() - start
        predicted = model.predict(features.transform(texts[test]))
    accuracy = float(np.mean(np.asarray(predicted, dtype=object) == y[test]))
    return accuracy, seconds, info


# ---------------------------------------------------------------- splitting
def subsample(frame, max_rows):
    """A stratified `max_rows`-row subsample (seed 0), or the frame itself."""
    if not max_rows or max_rows >= len(frame):
        return frame
    keep, _ = train_test_split(
        np.arange(len(frame)), train_size=max_rows, stratify=frame["label"], random_state=0
    )
    return frame.iloc[np.sort(keep)].reset_index(drop=True)


def run_dataset(name, frame, args, params):
    models = args.models
    scores = {m: [] for m in models}
    seconds = {m: [] for m in models}
    infos = {m: [] for m in models}
    for seed in range(args.splits):
        train, test = train_test_split(
            np.arange(len(frame)), test_size=TEST_SIZE, stratify=frame["label"], random_state=seed
        )
        line = []
        for model_name in models:
            accuracy, fit_seconds, info = fit_score(
                model_name, frame, train, test, seed, params, args.pretrain_epochs
            )
            scores[model_name].append(accuracy)
            seconds[model_name].append(fit_seconds)
            infos[model_name].append(info)
            extra = ""
            if "deep_path_kept" in info:
                extra = f", deep {'kept' if info['deep_path_kept'] else 'dropped'}"
            elif "C" in info:
                extra = f", C={info['C']:g}"
            line.append(f"{model_name} {accuracy:.4f} ({fit_seconds:.0f}s{extra})")
        print(f"  [{name}] split {seed}: " + "  ".join(line), file=sys.stderr, flush=True)
    return summarise(name, frame, args, scores, seconds, infos)


def summarise(name, frame, args, scores, seconds, infos):
    models = list(scores)
    means = {m: float(np.mean(scores[m])) for m in models}
    baselines = [m for m in BASELINES if m in models]
    best = max(baselines, key=means.get) if baselines else None
    words = frame["text"].str.split().str.len()
    result = {
        "dataset": name,
        "rows": len(frame),
        "classes": {str(k): int(v) for k, v in frame["label"].value_counts().sort_index().items()},
        "words": {"median": float(words.median()), "mean": float(words.mean())},
        "max_rows": args.max_rows,
        "accuracy": {
            m: {"mean": means[m], "std": float(np.std(scores[m])), "splits": scores[m]}
            for m in models
        },
        "fit_seconds": {m: float(np.mean(seconds[m])) for m in models},
        "fit_seconds_splits": seconds,
        "info": infos,
        "best_baseline": best,
        "diffs": {},
        "verdicts": {},
    }
    if best is not None:
        for m in (m for m in TOOLKIT_MODELS if m in models):
            diff = np.asarray(scores[m]) - np.asarray(scores[best])
            result["diffs"][m] = {
                "splits": diff.tolist(),
                "mean": float(diff.mean()),
                "std": float(diff.std()),
                "wins": int((diff > 0).sum()),
            }
        if "toolkit" in models:
            gap = result["diffs"]["toolkit"]["mean"]
            result["verdicts"][f"within_{args.tolerance:g}_of_best_tfidf"] = bool(
                gap >= -args.tolerance
            )
    result["passed"] = all(result["verdicts"].values())
    return result


# ------------------------------------------------------------------- output
def print_dataset(result):
    print()
    classes = result["classes"]
    print(
        f"== {result['dataset']}: {result['rows']} rows, {len(classes)} classes "
        f"({', '.join(f'{k} {v}' for k, v in classes.items())}); "
        f"median {result['words']['median']:.0f} words per text"
    )
    print(f"   {'model':<26} {'accuracy mean ± std':>20} {'s/fit':>7}  per split")
    for m, acc in result["accuracy"].items():
        splits = " ".join(f"{a:.4f}" for a in acc["splits"])
        print(
            f"   {MODELS[m]:<26} {acc['mean']:>11.4f} ± {acc['std']:.4f} "
            f"{result['fit_seconds'][m]:>7.1f}  {splits}"
        )
    for m in TOOLKIT_MODELS:
        if m not in result["info"]:
            continue
        infos = result["info"][m]
        kept = sum(i["deep_path_kept"] for i in infos)
        ngram_cs = ", ".join("-" if i["ngram_C"] is None else f"{i['ngram_C']:g}" for i in infos)
        print(
            f"   {MODELS[m]}: deep_path_kept_ {kept}/{len(infos)} "
            f"({', '.join(str(i['deep_path_kept']) for i in infos)}); epochs "
            f"{', '.join(str(i['epochs']) for i in infos)}; n-gram C "
            f"{ngram_cs}; "
            f"sequence_length {infos[0]['sequence_length']}, vocabulary {infos[0]['vocabulary']}"
        )
    if "tfidf_cv" in result["info"]:
        chosen = ", ".join(f"{i['C']:g}" for i in result["info"]["tfidf_cv"])
        print(f"   {MODELS['tfidf_cv']}: C chosen per split {chosen}")
    for m, diff in result["diffs"].items():
        splits = " ".join(f"{d:+.4f}" for d in diff["splits"])
        print(
            f"   {MODELS[m]} - {MODELS[result['best_baseline']]} per split: {splits}; "
            f"mean {diff['mean']:+.4f} ± {diff['std']:.4f}, better in "
            f"{diff['wins']}/{len(diff['splits'])}"
        )
    for verdict, passed in result["verdicts"].items():
        print(f"   {verdict}: {'PASS' if passed else 'FAIL'}")


def print_summary(results, args, params):
    print()
    print(
        f"Summary ({args.splits} stratified 80/20 split(s), seeds 0-{args.splits - 1}; "
        f"mean accuracy; mean fit seconds)"
    )
    print(f"TextClassifier params: {json.dumps(params) if params else 'defaults'}")
    models = args.models
    header = f"{'dataset':<10} {'rows':>6} " + " ".join(f"{m:>13}" for m in models)
    header += f" {'TC-best':>8} {'MLM-best':>9}  verdict"
    print(header)
    print("-" * len(header))
    for r in results:
        cells = " ".join(
            f"{r['accuracy'][m]['mean']:>6.4f} {r['fit_seconds'][m]:>5.0f}s" for m in models
        )
        diffs = [
            f"{r['diffs'][m]['mean']:>+8.4f}" if m in r["diffs"] else f"{'-':>8}"
            for m in TOOLKIT_MODELS
        ]
        verdict = ("PASS" if r["passed"] else "FAIL") if r["verdicts"] else "-"
        print(f"{r['dataset']:<10} {r['rows']:>6} {cells} {diffs[0]} {diffs[1]:>9}  {verdict}")
    print(
        f"Target: the default TextClassifier's mean accuracy within {args.tolerance:g} "
        "of the better TF-IDF model's on every data set."
    )


# ---------------------------------------------------------------------- CLI
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.text_quality",
        description="Held-out accuracy of TextClassifier vs TF-IDF + logistic regression "
        "on docstrings of installed packages.",
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=DATASETS,
        default=list(DATASETS),
        metavar="NAME",
        help=f"subset of {', '.join(DATASETS)} (default: all)",
    )
    parser.add_argument(
        "--splits", type=int, default=3, help="stratified 80/20 splits, seeds 0.. (default 3)"
    )
    parser.add_argument(
        "--max-rows", type=int, help="stratified subsample of each data set (seed 0) first"
    )
    parser.add_argument(
        "--models",
        nargs="+",
        choices=tuple(MODELS),
        default=list(MODELS),
        metavar="MODEL",
        help=f"subset of {', '.join(MODELS)} (default: all)",
    )
    parser.add_argument(
        "--pretrain-epochs",
        type=int,
        default=DEFAULT_PRETRAIN_EPOCHS,
        help=f"pretrain_epochs of the pretrain model (default {DEFAULT_PRETRAIN_EPOCHS})",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="TextClassifier parameter, value parsed as JSON (repeatable), "
        "e.g. --set vocabulary_size=16000 --set max_length=128",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=GAP_TOLERANCE,
        help=f"accuracy the toolkit may trail the best TF-IDF model by (default {GAP_TOLERANCE})",
    )
    parser.add_argument(
        "--cache-dir",
        default=str(Path(tempfile.gettempdir()) / "keras_domains_text_quality"),
        help="where the built data sets are cached as CSV",
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached data sets")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.splits < 1:
        parser.error(f"--splits is too small: {args.splits}")
    if args.max_rows is not None and args.max_rows < 100:
        parser.error(f"--max-rows is too small: {args.max_rows}")
    if args.pretrain_epochs < 1 and "pretrain" in args.models:
        parser.error("--pretrain-epochs must be >= 1 with the pretrain model")
    args.models = [m for m in MODELS if m in args.models]
    return args


def main(argv=None):
    args = parse_args(argv)
    params = parse_settings(args.overrides, TextClassifier, reserved=RESERVED)
    try:  # Fail before any fitting.
        TextClassifier(**params)._check_params()
    except ValueError as error:
        raise SystemExit(f"Invalid TextClassifier parameters: {error}") from None
    started = time.perf_counter()
    frames, cache_paths = load_datasets(args.datasets, args.cache_dir, args.rebuild)
    results = []
    for name in args.datasets:
        results.append(run_dataset(name, subsample(frames[name], args.max_rows), args, params))
        print_dataset(results[-1])
    print_summary(results, args, params)
    elapsed = time.perf_counter() - started
    print(f"Total time {elapsed / 60:.1f} min.")
    if args.json:
        payload = {
            "benchmark": "text_quality",
            "params": params,
            "models": args.models,
            "splits": args.splits,
            "max_rows": args.max_rows,
            "pretrain_epochs": args.pretrain_epochs,
            "tolerance": args.tolerance,
            "data": cache_paths,
            "seconds": elapsed,
            "environment": {
                "python": platform.python_version(),
                "keras": keras.__version__,
                "backend": keras.backend.backend(),
                "scikit-learn": sklearn.__version__,
                "pandas": pd.__version__,
                "cpu_count": os.cpu_count(),
            },
            "results": results,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
