#!/usr/bin/env python3
"""Generates the small control-flow and recurrent test models (deterministic, untrained weights).

Run with Debian's python3-torch 1.13 and python3-onnx (no network):
    /usr/bin/python3 tests/models/control-flow/make_models.py tests/models/control-flow

Writes:
  vad_if.onnx      VAD-like net: Conv1d front end + LSTM + linear head, one network per sample rate,
                   chosen by an If on the int64 input `sr` (16000 -> then, else -> 8 kHz branch).
                   The 16 kHz branch reads its weights from the main graph (outer-scope initializers);
                   the 8 kHz branch keeps its own initializers inside the branch.
  loop_matmul.onnx a Loop that applies h = tanh(h @ W + b) `steps` times; W and b live in the main graph
                   and are read from the body; a scan output records each step's mean.
  scan_matmul.onnx a Scan over time, y_t = relu(x_t @ W + s), s = y_t, W read from the main graph.
  gru_state.onnx   2-layer GRU with a state input `state` of shape [layers, batch, hidden] (batch on axis 1)
                   and the new state as an output.
"""
import io
import sys

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


def export(module, args, input_names, output_names, dynamic_axes):
    buffer = io.BytesIO()
    torch.onnx.export(module, args, buffer, input_names=input_names, output_names=output_names,
                      dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True)
    return onnx.load_from_string(buffer.getvalue())


class VadBranch(torch.nn.Module):
    """Conv1d front end -> LSTM -> linear head on the last step -> speech probability."""

    def __init__(self, kernel, stride):
        super().__init__()
        self.front = torch.nn.Sequential(
            torch.nn.Conv1d(1, 24, kernel, stride=stride), torch.nn.ReLU(),
            torch.nn.Conv1d(24, 32, 3, stride=2), torch.nn.ReLU())
        self.lstm = torch.nn.LSTM(32, 64, batch_first=True)
        self.head = torch.nn.Linear(64, 1)

    def forward(self, audio):
        features = self.front(audio).transpose(1, 2)
        sequence, _ = self.lstm(features)
        return torch.sigmoid(self.head(sequence[:, -1, :]))


def prefixed_branch(model, prefix, outer_input, output_name):
    """The exported graph as an If branch: no inputs (reads `outer_input` from the enclosing graph), names prefixed."""
    graph = model.graph
    keep = {outer_input}

    def rename(name):
        return name if name in keep or name == "" else prefix + name

    for node in graph.node:
        node.name = prefix + (node.name or node.op_type)
        for i, name in enumerate(node.input):
            node.input[i] = rename(name)
        for i, name in enumerate(node.output):
            node.output[i] = rename(name)
    for initializer in graph.initializer:
        initializer.name = rename(initializer.name)
    for node in graph.node:
        for i, name in enumerate(node.output):
            if name == prefix + graph.output[0].name:
                node.output[i] = output_name
    del graph.value_info[:]
    out = helper.make_tensor_value_info(output_name, TensorProto.FLOAT, None)
    return helper.make_graph(list(graph.node), prefix + "branch", [], [out], list(graph.initializer))


def make_vad(directory):
    torch.manual_seed(15)
    audio = torch.randn(2, 1, 512)
    branches = []
    for prefix, kernel, stride, output in (("sr16k_", 16, 8, "prob_16k"), ("sr8k_", 8, 4, "prob_8k")):
        module = VadBranch(kernel, stride).eval()
        exported = export(module, (audio,), ["audio"], ["prob"], {"audio": {0: "batch"}, "prob": {0: "batch"}})
        branches.append(prefixed_branch(exported, prefix, "audio", output))
    then_branch, else_branch = branches
    # The 16 kHz weights move to the main graph: the branch reads them from the outer scope.
    outer = list(then_branch.initializer)
    del then_branch.initializer[:]
    sr_16000 = numpy_helper.from_array(np.array(16000, dtype=np.int64), "sr_16000")
    nodes = [
        helper.make_node("Equal", ["sr", "sr_16000"], ["is_16k"], name="sr_is_16k"),
        helper.make_node("If", ["is_16k"], ["prob"], name="If_sample_rate", then_branch=then_branch, else_branch=else_branch),
    ]
    graph = helper.make_graph(
        nodes, "vad_if",
        [helper.make_tensor_value_info("audio", TensorProto.FLOAT, ["batch", 1, 512]),
         helper.make_tensor_value_info("sr", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["batch", 1])],
        [sr_16000] + outer)
    save(graph, directory, "vad_if.onnx")


def make_loop(directory):
    rng = np.random.default_rng(15)
    width = 128
    weight = numpy_helper.from_array((rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32), "loop_W")
    bias = numpy_helper.from_array((rng.standard_normal(width) * 0.1).astype(np.float32), "loop_b")
    body = helper.make_graph(
        [helper.make_node("MatMul", ["h_in", "loop_W"], ["h_mm"], name="body_MatMul"),
         helper.make_node("Add", ["h_mm", "loop_b"], ["h_pre"], name="body_Add"),
         helper.make_node("Tanh", ["h_pre"], ["h_out"], name="body_Tanh"),
         helper.make_node("ReduceMean", ["h_out"], ["step_mean"], name="body_ReduceMean", keepdims=0),
         helper.make_node("Identity", ["cond_in"], ["cond_out"], name="body_cond")],
        "loop_body",
        [helper.make_tensor_value_info("iteration", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("h_in", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("h_out", TensorProto.FLOAT, ["batch", width]),
         helper.make_tensor_value_info("step_mean", TensorProto.FLOAT, [])])
    graph = helper.make_graph(
        [helper.make_node("Loop", ["steps", "", "x"], ["h", "means"], name="Loop_steps", body=body)],
        "loop_matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", width]),
         helper.make_tensor_value_info("steps", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("h", TensorProto.FLOAT, ["batch", width]),
         helper.make_tensor_value_info("means", TensorProto.FLOAT, ["steps"])],
        [weight, bias])
    save(graph, directory, "loop_matmul.onnx")


def make_scan(directory):
    rng = np.random.default_rng(16)
    width = 64
    weight = numpy_helper.from_array((rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32), "scan_W")
    body = helper.make_graph(
        [helper.make_node("MatMul", ["x_t", "scan_W"], ["x_mm"], name="scan_MatMul"),
         helper.make_node("Add", ["x_mm", "s_in"], ["y_pre"], name="scan_Add"),
         helper.make_node("Relu", ["y_pre"], ["y_t"], name="scan_Relu"),
         helper.make_node("Identity", ["y_t"], ["s_out"], name="scan_state")],
        "scan_body",
        [helper.make_tensor_value_info("s_in", TensorProto.FLOAT, ["batch", width]),
         helper.make_tensor_value_info("x_t", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info("s_out", TensorProto.FLOAT, ["batch", width]),
         helper.make_tensor_value_info("y_t", TensorProto.FLOAT, ["batch", width])])
    graph = helper.make_graph(
        [helper.make_node("Scan", ["s0", "xs"], ["s_final", "ys"], name="Scan_time", body=body, num_scan_inputs=1)],
        "scan_matmul",
        [helper.make_tensor_value_info("s0", TensorProto.FLOAT, ["batch", width]),
         helper.make_tensor_value_info("xs", TensorProto.FLOAT, ["time", "batch", width])],
        [helper.make_tensor_value_info("s_final", TensorProto.FLOAT, ["batch", width]),
         helper.make_tensor_value_info("ys", TensorProto.FLOAT, ["time", "batch", width])],
        [weight])
    save(graph, directory, "scan_matmul.onnx")


class GruState(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(16, 32, num_layers=2, batch_first=True)
        self.head = torch.nn.Linear(32, 2)

    def forward(self, x, state):
        sequence, new_state = self.gru(x, state)
        return self.head(sequence[:, -1, :]), new_state


def make_gru(directory):
    torch.manual_seed(16)
    module = GruState().eval()
    model = export(module, (torch.randn(3, 20, 16), torch.zeros(2, 3, 32)), ["x", "state"], ["logits", "new_state"],
                   {"x": {0: "batch"}, "state": {1: "batch"}, "logits": {0: "batch"}, "new_state": {1: "batch"}})
    model.producer_name = "make_models.py"
    save(model.graph, directory, "gru_state.onnx")


def save(graph, directory, name):
    model = helper.make_model(graph, producer_name="make_models.py", opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, f"{directory}/{name}")
    print(f"{name}: {len(model.SerializeToString())} bytes")


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    make_vad(out)
    make_loop(out)
    make_scan(out)
    make_gru(out)
