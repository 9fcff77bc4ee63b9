"""Writes a fitted estimator's model as a TensorFlow SavedModel or an ONNX file."""

import json
import os
import shutil
import tempfile

import numpy as np

from core.persistence.atomic_file import atomic_write
from core.persistence.metadata import jsonable, library_versions

FORMATS = ("saved_model", "onnx")
#: Name of the companion JSON inside a SavedModel folder (an ONNX file gets `<path>.json`).
COMPANION_NAME = "keras_domains.json"
#: ONNX opset of exported models; the newest that tf2onnx and onnxruntime both take.
ONNX_OPSET = 17
ONNX_ML_OPSET = 2


class ModelExporter:
    """Exports a model with its preprocessing (where the format allows) and output head.

    The exported function is: the signature's inputs, the in-graph
    preprocessing, the Keras model in inference mode, then the head (for
    classifiers: probabilities averaged over the ensemble members, and the
    calibration map). Beside it goes a companion JSON file with the inputs,
    the outputs, the classes and whatever preprocessing the caller still
    has to apply.

    Args:
        signature: an `ExportSignature`: the inputs and in-graph preprocessing.
        head: function from the model's output tensor to a dict of named
            output tensors.
        description: JSON-ready facts for the companion file (task, classes,
            outputs).
    """

    def __init__(self, signature, head, description):
        self.signature = signature
        self.head = head
        self.description = description

    def export(self, path, format="saved_model"):
        """Writes the export; an existing one at `path` is replaced only once the new one is whole.

        Args:
            path: a folder for `"saved_model"`, a file (e.g. `model.onnx`) for `"onnx"`.
            format: `"saved_model"` or `"onnx"`.

        Returns:
            dict with `path`, `format` and `companion` (the JSON file's path).
        """
        if format not in FORMATS:
            raise ValueError(f"`format` must be one of {FORMATS}. Received: format={format!r}")
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"`path` must be a str or os.PathLike. Received: {path!r}")
        path = os.fspath(path)
        if format == "onnx":
            _require_onnx()
        companion = {**self.description, **self.signature.describe(), "format": format}
        companion["versions"] = library_versions()
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        if format == "saved_model":
            _replace_folder(path, lambda tmp: self._write_saved_model(tmp, companion))
            return {"path": path, "format": format, "companion": os.path.join(path, COMPANION_NAME)}
        model_bytes = self._onnx_bytes(companion)
        companion_path = f"{path}.json"
        _write_atomically(path, model_bytes)
        _write_atomically(companion_path, json.dumps(jsonable(companion), indent=2).encode())
        return {"path": path, "format": format, "companion": companion_path}

    # ----------------------------------------------------------- saved model
    def _serving_function(self, for_onnx):
        import tensorflow as tf

        signature, head, model = self.signature, self.head, self.signature.model
        specs = signature.input_specs(for_onnx=for_onnx)

        def serve(inputs):
            outputs = model(signature.model_input(inputs, for_onnx=for_onnx), training=False)
            return head(outputs)

        return tf.function(serve, input_signature=[{spec.name: spec for spec in specs}])

    def _write_saved_model(self, folder, companion):
        import tensorflow as tf

        module = tf.Module()
        # As Keras' own export does: a list made here tracks every variable, seed states included.
        module.variables_of_model = list(self.signature.model.variables)
        function = self._serving_function(for_onnx=False)
        module.serve = function
        # A serving signature takes keyword tensors, so the dict of inputs is spelled out.
        specs = {spec.name: spec for spec in self.signature.input_specs()}
        signature = tf.function(lambda **inputs: function(inputs)).get_concrete_function(**specs)
        tf.saved_model.save(module, folder, signatures={"serving_default": signature})
        extra = os.path.join(folder, COMPANION_NAME)
        with open(extra, "w", encoding="utf-8") as f:
            json.dump(jsonable(companion), f, indent=2)

    # ------------------------------------------------------------------ onnx
    def _onnx_bytes(self, companion):
        import tf2onnx

        function = self._serving_function(for_onnx=True)
        specs = self.signature.input_specs(for_onnx=True)
        model_proto, _ = tf2onnx.convert.from_function(
            function,
            input_signature=[{s.name: s for s in specs}],
            opset=ONNX_OPSET,
            custom_op_handlers={"Log1p": (_log1p, []), "Erfc": (_erfc, [])},
        )
        _check_inputs(model_proto, [s.name for s in specs])
        _put_lookups_in_front(model_proto, self.signature.onnx_lookups())
        _check_onnx(model_proto)
        entry = model_proto.metadata_props.add()
        entry.key, entry.value = "keras_domains", json.dumps(jsonable(companion))
        return model_proto.SerializeToString()


def _one_like(ctx, tensor):
    """An ONNX constant 1 of `tensor`'s element type."""
    from tf2onnx import utils

    dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(tensor))
    return ctx.make_const(utils.make_name("one"), np.array(1, dtype=dtype)).output[0]


def _log1p(ctx, node, name, args):
    """TensorFlow's Log1p, which ONNX lacks, as Log(1 + x)."""
    plus_one = ctx.make_node("Add", [node.input[0], _one_like(ctx, node.input[0])])
    ctx.replace_input(node, node.input[0], plus_one.output[0], 0)
    node.type = "Log"


def _erfc(ctx, node, name, args):
    """TensorFlow's Erfc (in exact GELU), which ONNX lacks, as 1 - Erf(x)."""
    node.type = "Erf"
    one = _one_like(ctx, node.input[0])
    ctx.insert_new_node_on_output("Sub", node.output[0], inputs=[one, node.output[0]])


def _check_inputs(model_proto, input_names):
    """Fails when the converted graph asks for inputs beyond the model's own.

    Such an input is a tensor tf2onnx could neither convert nor fold (seen
    in keras-hub's ViT position embeddings): the file would refuse every
    call, so it is not written.
    """
    initializers = {tensor.name for tensor in model_proto.graph.initializer}
    stray = [
        graph_input.name
        for graph_input in model_proto.graph.input
        if graph_input.name not in initializers and graph_input.name not in input_names
    ]
    if stray:
        raise ValueError(
            f"The model could not be converted to ONNX: the converted graph asks for inputs "
            f"{stray} that the model does not have (an operation the converter could not fold). "
            "Export it with format='saved_model'."
        )


def _check_onnx(model_proto):
    """Fails on an invalid graph (tf2onnx logs unconvertible ops and writes the graph anyway)."""
    import onnx

    try:
        onnx.checker.check_model(model_proto, full_check=True)
    except onnx.checker.ValidationError as error:
        raise ValueError(
            f"The model could not be converted to ONNX: {str(error).splitlines()[0]}. "
            "Export it with format='saved_model'."
        ) from None


def _put_lookups_in_front(model_proto, lookups):
    """Replaces each code input by a string input mapped through an ONNX `LabelEncoder`."""
    if not lookups:
        return
    from onnx import TensorProto, helper

    graph = model_proto.graph
    by_name = {value.name: value for value in graph.input}
    nodes = []
    for name, (code_name, keys, codes, default) in lookups.items():
        code_input = by_name[code_name]
        graph.input.remove(code_input)
        graph.input.append(helper.make_tensor_value_info(name, TensorProto.STRING, [None, 1]))
        nodes.append(
            helper.make_node(
                "LabelEncoder",
                [name],
                [code_name],
                domain="ai.onnx.ml",
                keys_strings=keys,
                values_floats=codes,
                default_float=default,
                name=f"{name}_lookup",
            )
        )
    for node in reversed(nodes):
        graph.node.insert(0, node)
    if not any(op.domain == "ai.onnx.ml" for op in model_proto.opset_import):
        model_proto.opset_import.append(helper.make_opsetid("ai.onnx.ml", ONNX_ML_OPSET))


def _require_onnx():
    try:
        import onnx  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError as error:
        raise ImportError(
            'Exporting to ONNX needs tf2onnx and onnx: pip install "keras-domains[export]"'
        ) from error


def _replace_folder(path, write):
    """Writes a folder under a temporary name, then swaps it in for `path`."""
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isfile(path):
        raise ValueError(f"`path` {path!r} is a file; a SavedModel is written as a folder.")
    tmp = tempfile.mkdtemp(dir=parent, prefix=".tmp-export-")
    try:
        write(tmp)
        if os.path.exists(path):
            old = tempfile.mkdtemp(dir=parent, prefix=".old-export-")
            os.rmdir(old)
            os.rename(path, old)
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, path)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def _write_atomically(path, data):
    if os.path.isdir(path):
        raise ValueError(f"`path` {path!r} is a folder; an ONNX model is written as one file.")
    with atomic_write(path, what="export") as f:
        f.write(data)
