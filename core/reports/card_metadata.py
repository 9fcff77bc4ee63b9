"""Machine-readable model card metadata: the YAML header that model hubs read.

The header follows the Hugging Face Hub's model card metadata (`library_name`,
`tags`, `pipeline_tag`, `datasets`, `metrics`, and `model-index` with the
evaluation results), plus the fields a reviewer looks for first:
`model_type`, `task`, `intended_use` and `limitations`. It sits between two
`---` lines above the Markdown, where the Hub, MkDocs, Jekyll and most
Markdown front-matter readers find it.
"""

import json
import math
import numbers

#: The Hub's pipeline tag of each input kind of the project's tasks.
PIPELINE_TAGS = {
    ("table", "classification"): "tabular-classification",
    ("table", "regression"): "tabular-regression",
    ("texts", "classification"): "text-classification",
    ("images", "classification"): "image-classification",
}


def card_metadata(estimator, target, metrics, intended_use=None, limitations=(), dataset=None):
    """The metadata of a model card, as a dict ready for `yaml_front_matter`.

    Args:
        estimator: the fitted model the card describes.
        target: `"classification"`, `"regression"` or `"survival"`.
        metrics: `[(type, name, value)]` measured on the card's test rows, e.g.
            `("roc_auc", "AUROC", 0.83)`; non-finite values are left out.
        intended_use: the author's statement, or None.
        limitations: the card's limitations, one sentence each.
        dataset: a name for the test rows' data set, or None.

    Returns:
        dict, in the order the header lists it.
    """
    task = getattr(estimator, "task_name", None)
    kind = getattr(estimator, "input_kind", None)
    pipeline_tag = PIPELINE_TAGS.get((kind, target))
    tags = ["keras", "keras-domains", target if target != "survival" else "survival-analysis"]
    if task:
        tags.append(task)
    dataset_name = dataset or "held-out test rows"
    results = [
        {"type": kind_, "name": name, "value": float(value)}
        for kind_, name, value in metrics
        if value is not None and math.isfinite(float(value))
    ]
    metadata = {"library_name": "keras-domains", "tags": tags}
    if pipeline_tag:
        metadata["pipeline_tag"] = pipeline_tag
    metadata["model_type"] = type(estimator).__name__
    metadata["task"] = task or "not registered"
    if dataset:
        metadata["datasets"] = [dataset]
    metadata["metrics"] = sorted({r["type"] for r in results})
    metadata["model-index"] = [
        {
            "name": type(estimator).__name__,
            "results": [
                {
                    "task": {"type": pipeline_tag or target, "name": task or target},
                    "dataset": {"name": dataset_name, "type": kind or "table"},
                    "metrics": results,
                }
            ],
        }
    ]
    text = intended_use.strip() if intended_use and intended_use.strip() else None
    metadata["intended_use"] = text or "not stated by the model's author"
    metadata["limitations"] = list(limitations)
    return metadata


def yaml_front_matter(metadata):
    """`metadata` as a YAML block between `---` lines (block style, strings double-quoted).

    Args:
        metadata: a dict of strings, numbers, booleans, None, lists and dicts.

    Returns:
        str, ending with a newline.
    """
    return "---\n" + "\n".join(_yaml_lines(metadata, 0)) + "\n---\n"


def _yaml_lines(value, indent):
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            if _is_block(item):
                lines.append(f"{pad}{_scalar(str(key))}:")
                lines.extend(_yaml_lines(item, indent + (2 if isinstance(item, dict) else 0)))
            else:
                lines.append(f"{pad}{_scalar(str(key))}: {_scalar(item)}")
        return lines
    for item in value:  # A list.
        if _is_block(item):
            nested = _yaml_lines(item, indent + 2)
            lines.append(f"{pad}- {nested[0].lstrip()}")
            lines.extend(nested[1:])
        else:
            lines.append(f"{pad}- {_scalar(item)}")
    return lines


def _is_block(value):
    return isinstance(value, dict | list | tuple) and len(value) > 0


def _scalar(value):
    """A YAML scalar: JSON's double-quoted strings are valid YAML, and so are its numbers."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, dict | list | tuple):  # Empty.
        return "{}" if isinstance(value, dict) else "[]"
    text = str(value)
    plain = text.replace("-", "").replace("_", "").replace(".", "").isalnum()
    if plain and text.lower() not in _YAML_WORDS and text[0].isalpha():
        return text
    return json.dumps(text, ensure_ascii=False)


# Plain words YAML would read as something other than a string.
_YAML_WORDS = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "~"}
