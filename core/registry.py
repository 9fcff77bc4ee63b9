"""A string-keyed registry of tasks that imports a domain only when asked for it.

Tasks are named `"domain.task"` (e.g. `"medical.diagnosis"`). The built-in
domains live in `domains/<domain>/` and register their tasks when imported;
other packages add tasks through the entry-point group `keras_domains.tasks`
(name: the task name, value: `"package.module:Class"`).
"""

import importlib
import importlib.metadata
import importlib.util

ENTRY_POINT_GROUP = "keras_domains.tasks"
BUILTIN_DOMAINS = ("medical", "finance", "vision", "nlp")
#: Tasks the core itself offers, on any table: name -> (module, class), imported when asked for.
CORE_TASKS = {
    "tabular.classification": ("core.estimators.tabular_classifier", "TabularClassifier"),
    "tabular.regression": ("core.estimators.tabular_regressor", "TabularRegressor"),
    "tabular.survival": ("core.estimators.tabular_survival", "TabularSurvival"),
}

_TASKS = {}


def register_task(name):
    """Class decorator that registers a task under `name`.

    Args:
        name: dotted `"domain.task"` name.

    Returns:
        The decorator; it sets `cls.task_name` and returns the class unchanged.
    """
    if not isinstance(name, str) or name.count(".") != 1 or not all(name.split(".")):
        raise ValueError(f"A task name must look like 'domain.task'. Received: name={name!r}")

    def decorator(cls):
        existing = _TASKS.get(name)
        if existing is not None and existing is not cls:
            raise ValueError(f"Task {name!r} is already registered to {existing.__qualname__}.")
        cls.task_name = name
        _TASKS[name] = cls
        return cls

    return decorator


def get_task(name):
    """Returns the estimator class registered under `name`.

    Imports the built-in domain named by the prefix, or the entry point of
    that name, only now.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if name not in _TASKS and name in CORE_TASKS:
        _import_core_task(name)
    if name not in _TASKS:
        domain = name.split(".", 1)[0] if isinstance(name, str) else ""
        if domain in BUILTIN_DOMAINS:
            _import_domain(domain)
        if name not in _TASKS:
            _load_entry_point(name)
    if name not in _TASKS:
        raise ValueError(f"Unknown task {name!r}. Valid tasks: {', '.join(list_tasks())}.")
    return _TASKS[name]


def load_task_model(path):
    """Loads a model file saved by any registered task, whatever its class.

    Args:
        path: a `.kdm` file.

    Returns:
        The fitted estimator.

    Raises:
        ValueError: if the file was not saved by a registered task.
    """
    from core.estimators import KerasEstimator
    from core.persistence import read_archive

    _, _, metadata = read_archive(path)
    task = metadata.get("task")
    if not task:
        raise ValueError(f"{path!r} was not saved by a registered task; load it from Python.")
    estimator_cls = get_task(task)
    if not issubclass(estimator_cls, KerasEstimator):
        raise ValueError(f"Task {task!r} does not load from model files.")
    return estimator_cls.load(path)


def list_tasks():
    """Names of every available task, built-in and from entry points, sorted."""
    for name in CORE_TASKS:
        _import_core_task(name)
    for domain in BUILTIN_DOMAINS:
        _import_domain(domain)
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        _load_entry_point(entry_point.name)
    return sorted(_TASKS)


def _import_core_task(name):
    module, class_name = CORE_TASKS[name]
    cls = getattr(importlib.import_module(module), class_name)
    if name not in _TASKS:
        register_task(name)(cls)


def _import_domain(domain):
    module = f"domains.{domain}"
    if importlib.util.find_spec(module) is not None:
        importlib.import_module(module)


def _load_entry_point(name):
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name=name):
        cls = entry_point.load()
        register_task(name)(cls)
