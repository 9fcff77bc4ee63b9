"""Every task reads its input through an InputAdapter of its own input kind."""

import inspect

import pytest

from core.preprocessing import InputAdapter
from core.registry import get_task, list_tasks

METHODS = ("validate", "fit", "transform", "input_schema", "get_state", "from_state")


@pytest.mark.parametrize("name", list_tasks())
def test_each_task_names_an_adapter_of_its_input_kind(name):
    task = get_task(name)
    adapter = task.adapter_class
    assert inspect.isclass(adapter) and issubclass(adapter, InputAdapter), name
    assert adapter.input_kind == task.input_kind
    assert not inspect.isabstract(adapter), f"{adapter.__name__} leaves methods abstract"
    for method in METHODS:
        assert getattr(adapter, method) is not getattr(InputAdapter, method), (adapter, method)


def test_an_adapter_missing_a_method_cannot_be_built():
    class Incomplete(InputAdapter):
        input_kind = "table"

        def validate(self, X, **context):
            return X

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()
