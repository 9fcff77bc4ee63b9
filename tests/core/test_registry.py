import importlib.metadata
import subprocess
import sys
import textwrap

import pytest

from core import registry
from core.registry import get_task, list_tasks, register_task

PLUGIN_MODULE = "kd_test_thirdparty_plugin"


@pytest.fixture
def clean_registry():
    """Removes the tasks a test registers, keeping those of the built-in domains."""
    before = dict(registry._TASKS)
    builtin = registry.BUILTIN_DOMAINS
    yield
    for name, cls in list(registry._TASKS.items()):
        if name in before:
            registry._TASKS[name] = before[name]
        elif not _is_builtin(cls, builtin):
            del registry._TASKS[name]


def _is_builtin(cls, builtin):
    parts = cls.__module__.split(".")
    return parts[0] == "domains" and len(parts) > 1 and parts[1] in builtin


@pytest.mark.parametrize(
    "name", ["nodot", "a.b.c", ".task", "domain.", "", ".", 3, None, ("medical", "x")]
)
def test_register_task_rejects_bad_names(name, clean_registry):
    with pytest.raises(ValueError, match=r"'domain\.task'"):
        register_task(name)


def test_register_task_sets_name_and_returns_class(clean_registry):
    class Dummy:
        pass

    assert register_task("testdomain.dummy")(Dummy) is Dummy
    assert Dummy.task_name == "testdomain.dummy"
    assert get_task("testdomain.dummy") is Dummy
    # Registering the same class again is harmless.
    assert register_task("testdomain.dummy")(Dummy) is Dummy


def test_double_registration_of_another_class_is_rejected(clean_registry):
    class First:
        pass

    class Second:
        pass

    register_task("testdomain.twice")(First)
    with pytest.raises(ValueError, match=r"'testdomain\.twice'.*First"):
        register_task("testdomain.twice")(Second)
    assert get_task("testdomain.twice") is First
    assert not hasattr(Second, "task_name")


def test_builtin_task_is_found():
    from domains.medical import DiagnosisPredictor

    assert get_task("medical.diagnosis") is DiagnosisPredictor
    assert DiagnosisPredictor.task_name == "medical.diagnosis"


@pytest.mark.parametrize("name", ["medical.nosuchtask", "nosuchdomain.task", "plain"])
def test_unknown_task_lists_valid_ones(name):
    with pytest.raises(ValueError, match=r"Unknown task") as info:
        get_task(name)
    assert name in str(info.value)
    assert "medical.diagnosis" in str(info.value)


def test_list_tasks_is_sorted_and_complete(clean_registry):
    class Early:
        pass

    register_task("aaa.first")(Early)
    tasks = list_tasks()
    assert tasks == sorted(tasks)
    assert "medical.diagnosis" in tasks and tasks[0] == "aaa.first"
    assert {"nlp.text", "nlp.generation"} <= set(tasks)


def test_importing_the_registry_imports_no_domain():
    code = textwrap.dedent(
        """
        import sys
        import core.registry
        loaded = [m for m in sys.modules if m == "domains" or m.startswith("domains.")]
        assert not loaded, loaded
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_get_task_imports_only_the_named_domain(tmp_path, monkeypatch, clean_registry):
    import domains

    # A stand-in built-in domain, so the real ones need not be re-imported.
    package = tmp_path / "kdfake"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from core.registry import register_task\n\n\n"
        "@register_task('kdfake.task')\n"
        "class FakeTask:\n"
        "    pass\n"
    )
    monkeypatch.setattr(domains, "__path__", [*domains.__path__, str(tmp_path)])
    monkeypatch.setattr(registry, "BUILTIN_DOMAINS", (*registry.BUILTIN_DOMAINS, "kdfake"))
    monkeypatch.delitem(sys.modules, "domains.kdfake", raising=False)
    imported = []
    real_import = registry._import_domain

    def spy(domain):
        imported.append(domain)
        real_import(domain)

    monkeypatch.setattr(registry, "_import_domain", spy)
    assert "domains.kdfake" not in sys.modules
    cls = get_task("kdfake.task")
    assert imported == ["kdfake"]
    assert cls.__module__ == "domains.kdfake" and cls.__name__ == "FakeTask"
    imported.clear()
    # Once registered, asking again imports nothing.
    assert get_task("kdfake.task") is cls
    assert imported == []
    sys.modules.pop("domains.kdfake", None)


@pytest.fixture
def entry_point(tmp_path, monkeypatch, clean_registry):
    (tmp_path / f"{PLUGIN_MODULE}.py").write_text(
        "class SomeClass:\n    loaded_from_plugin = True\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, PLUGIN_MODULE, raising=False)
    fake = importlib.metadata.EntryPoint(
        name="thirdparty.task",
        value=f"{PLUGIN_MODULE}:SomeClass",
        group=registry.ENTRY_POINT_GROUP,
    )
    real_entry_points = importlib.metadata.entry_points

    def entry_points(**params):
        if params.get("group") == registry.ENTRY_POINT_GROUP:
            return importlib.metadata.EntryPoints([fake]).select(**params)
        return real_entry_points(**params)

    monkeypatch.setattr(registry.importlib.metadata, "entry_points", entry_points)
    yield
    sys.modules.pop(PLUGIN_MODULE, None)


def test_entry_point_task_is_loaded(entry_point):
    assert PLUGIN_MODULE not in sys.modules
    cls = get_task("thirdparty.task")
    assert cls.__module__ == PLUGIN_MODULE and cls.__name__ == "SomeClass"
    assert cls.loaded_from_plugin and cls.task_name == "thirdparty.task"
    assert get_task("thirdparty.task") is cls
    assert "thirdparty.task" in list_tasks()


def test_entry_points_are_listed_and_other_names_stay_unknown(entry_point):
    assert "thirdparty.task" in list_tasks()
    with pytest.raises(ValueError, match=r"thirdparty\.task"):
        get_task("thirdparty.other")
