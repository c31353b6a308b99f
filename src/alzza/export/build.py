"""Turn a :class:`~alzza.export.plans.GraphPlan` into a checked ONNX model.

The graph's inputs are float32 in alzza's layout with a dynamic batch axis
(``batch``): ``x`` (N, ...) — NHWC for images, (N, T, ...) for sequences, then also
``lengths`` int64 (N,). Between two parts a plain batch is reshaped to the next part's
input shape when they differ (a flat generator output read by an image discriminator),
as the family chains do. The head's estimate follows the last part.

Metadata (``metadata_props``): experiment, alzza_version, model_kind, graph, mode,
inputs, outputs, reference (the alzza call the graph equals), class_names (JSON), opset.
"""

from __future__ import annotations

import json

from ..version import __version__
from ..heads import BinaryHead, MultiSelectHead, RegressionHead, SelectHead, SeqBinaryHead, SeqSelectHead
from ..sequences import is_sequence_shape
from .errors import ExportError
from .graph import GraphBuilder, Value
from .layers import emit
from . import recurrent  # noqa: F401  (registers the emitters of rnn, lstm, seqwrap)
from . import attention  # noqa: F401  (registers the emitters of embed, posenc, attention, rms_normal, seqpool)

#: the ONNX operator set the graphs are written for (LSTM, RNN, Split with inputs: opset ≥ 13)
OPSET = 17
BATCH = "batch"


def _emit_head(b: GraphBuilder, head, value: Value) -> Value:
    if head is None or isinstance(head, RegressionHead):
        return value
    if isinstance(head, (BinaryHead, SeqBinaryHead)):
        out = value.like(b.op("Sigmoid", [value.name], "estimate"))
    elif isinstance(head, (SelectHead, SeqSelectHead)):
        out = value.like(b.op("Softmax", [value.name], "estimate", axis=-1))
    elif isinstance(head, MultiSelectHead):
        groups = b.op("Split", [value.name, b.ints(head.sizes, "groups")], "estimate", outputs=len(head.sizes),
                      axis=-1)
        groups = [groups] if isinstance(groups, str) else groups
        probs = [b.op("Softmax", [g], "estimate", axis=-1) for g in groups]
        out = value.like(probs[0] if len(probs) == 1 else b.op("Concat", probs, "estimate", axis=-1))
    else:
        raise ExportError(f"output mode {getattr(head, 'mode', type(head).__name__)!r} has no ONNX form of its "
                          "estimate (exportable: regression, binary, select, multi-select, seqselect, seqbinary)")
    return b.zero_padding(out, "estimate")


def _value_info(b, name, dims, elem):
    return b.helper.make_tensor_value_info(name, elem, [BATCH, *map(int, dims)])


def build_model(model, plan, class_names=None, opset: int = OPSET, check: bool = True):
    """The ONNX ModelProto of ``plan`` for ``model``, checked by ``onnx.checker`` (unless ``check`` is False)."""
    from .graph import onnx_modules

    onnx, helper, _, tensor = onnx_modules()
    b = GraphBuilder()
    shape = plan.input_shape
    inputs = [_value_info(b, b.reserve(plan.input_name), shape, tensor.FLOAT)]
    inputs[0].doc_string = plan.input_meaning
    if is_sequence_shape(shape):
        lengths = b.reserve("lengths")
        inputs.append(_value_info(b, lengths, (), tensor.INT64))
        inputs[1].doc_string = "int64 (batch,): the real steps of each sequence"
        value = Value(plan.input_name, tuple(shape), True, lengths)
    else:
        value = Value(plan.input_name, tuple(shape))
    for i, (network, part_shape) in enumerate(plan.stages):
        if i and not value.seq and not is_sequence_shape(part_shape) and tuple(value.shape) != tuple(part_shape):
            value = Value(b.op("Reshape", [value.name, b.ints([-1, *part_shape])], network.path or "part"),
                          tuple(part_shape))
        value = emit(b, network, value)
    if plan.output_shape is not None and not value.seq and tuple(value.shape) != tuple(plan.output_shape):
        value = Value(b.op("Reshape", [value.name, b.ints([-1, *plan.output_shape])], "output"),
                      tuple(plan.output_shape))
    value = _emit_head(b, plan.head, value)
    out_name = b.reserve(plan.output_name)
    b.nodes.append(helper.make_node("Identity", [value.name], [out_name], name=b.fresh("output#Identity")))
    output = _value_info(b, out_name, value.shape, tensor.FLOAT)
    output.doc_string = plan.output_meaning

    names = class_names if class_names is not None else plan.class_names
    graph = helper.make_graph(b.nodes, f"{model.name}-{plan.name}", inputs, [output], b.initializers,
                              doc_string=f"alzza {model.name}: {plan.reference_text}")
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="alzza",
                              producer_version=__version__, doc_string=f"{model.name} ({plan.name}) exported by alzza")
    proto.ir_version = min(proto.ir_version, 8)   # opset 17's IR version: readable by older runtimes too
    meta = {
        "experiment": model.name,
        "alzza_version": __version__,
        "model_kind": getattr(model, "kind", "network") or "network",
        "graph": plan.name,
        "mode": getattr(plan.head, "mode", "none") if plan.head is not None else "none",
        "inputs": plan.input_meaning,
        "outputs": f"{plan.output_name}: float32 (batch, {', '.join(map(str, value.shape))}): {plan.output_meaning}",
        "reference": plan.reference_text,
        "class_names": json.dumps(names, ensure_ascii=False) if names is not None else "null",
        "opset": str(opset),
    }
    helper.set_model_props(proto, meta)
    if not check:
        return proto
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as exc:  # onnx raises its own ValidationError / InferenceError kinds
        raise ExportError(f"{model.name} ({plan.name}): the exported graph fails onnx.checker: {exc}") from None
    return proto
