"""How assets/face_landmark.onnx was made: MediaPipe's face-landmark model, TFLite to ONNX.

    pip download --no-deps mediapipe==0.10.21 -d /tmp/mp
    unzip -j /tmp/mp/mediapipe-0.10.21-*.whl mediapipe/modules/face_landmark/face_landmark.tflite -d /tmp/mp
    pip install tflite onnx            # the flatbuffer reader; neither is needed to run the app
    python assets/convert_face_landmark.py /tmp/mp/face_landmark.tflite assets/face_landmark.onnx

The model (Apache-2.0, LICENSE-mediapipe.txt) is a small CNN of seven kinds of
layer; general converters need TensorFlow or stop at its float16 weights, so
this writes the same graph in ONNX directly: weights made float32, NHWC turned
to NCHW once at the input. Input ``image`` (1, 192, 192, 3) RGB in 0-1; outputs
``landmarks`` (1, 1404) and ``face_logit`` (1, 1), whose sigmoid is the face
presence score. Checked against the TFLite runtime (ai-edge-litert 2.3.0): the
logit agrees to 1e-5 and the landmarks to 1.4e-4 px on the astronaut and on noise.
"""

from __future__ import annotations

import sys

import numpy as np
import onnx
import tflite
from onnx import TensorProto, helper, numpy_helper

DTYPES = {tflite.TensorType.FLOAT32: np.float32, tflite.TensorType.FLOAT16: np.float16,
          tflite.TensorType.INT32: np.int32}
ACTIVATIONS = {0: None, 1: "Relu"}
OUTPUT_NAMES = {"conv2d_21": "landmarks", "conv2d_31": "face_logit"}


def convert(tflite_path: str, onnx_path: str) -> None:
    model = tflite.Model.GetRootAsModel(open(tflite_path, "rb").read(), 0)
    graph = model.Subgraphs(0)
    name = lambda i: graph.Tensors(i).Name().decode()  # noqa: E731
    constants: dict[str, np.ndarray] = {}

    def array(i: int) -> np.ndarray | None:
        tensor = graph.Tensors(i)
        data = model.Buffers(tensor.Buffer()).DataAsNumpy()
        if isinstance(data, int) or data.size == 0:
            return constants.get(name(i))
        return np.frombuffer(data.tobytes(), DTYPES[tensor.Type()]).reshape(tensor.ShapeAsNumpy())

    nodes, initializers = [], []

    def constant(key: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), key))
        return key

    def activation(out: str, kind: int) -> list:
        if ACTIVATIONS[kind] is None:
            return []
        return [helper.make_node(ACTIVATIONS[kind], [out + "_pre"], [out])]

    [input_index] = graph.InputsAsNumpy()
    nodes.append(helper.make_node("Transpose", ["image"], [name(input_index)], perm=[0, 3, 1, 2]))
    for k in range(graph.OperatorsLength()):
        op = graph.Operators(k)
        kind = tflite.opcode2name(model.OperatorCodes(op.OpcodeIndex()).BuiltinCode())
        ins, [out] = list(op.InputsAsNumpy()), [name(i) for i in op.OutputsAsNumpy()]
        table = op.BuiltinOptions()
        if kind == "DEQUANTIZE":
            constants[out] = array(ins[0]).astype(np.float32)
        elif kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            opts = tflite.Conv2DOptions() if kind == "CONV_2D" else tflite.DepthwiseConv2DOptions()
            opts.Init(table.Bytes, table.Pos)
            w, b = array(ins[1]), array(ins[2])
            if kind == "CONV_2D":
                weight, group = w.transpose(0, 3, 1, 2), 1  # OHWI -> OIHW
            else:
                weight, group = w.transpose(3, 0, 1, 2), w.shape[3]  # 1HWC -> C1HW, one group per channel
            act = opts.FusedActivationFunction()
            nodes.append(helper.make_node(
                "Conv", [name(ins[0]), constant(out + "_w", weight), constant(out + "_b", b)],
                [out + "_pre" if ACTIVATIONS[act] else out], strides=[opts.StrideH(), opts.StrideW()],
                kernel_shape=list(weight.shape[2:]), group=group,
                auto_pad="SAME_UPPER" if opts.Padding() == tflite.Padding.SAME else "VALID"))
            nodes += activation(out, act)
        elif kind == "PRELU":
            alpha = array(ins[1])  # (1, 1, C)
            slope = alpha.reshape(-1, 1, 1) if alpha.size > 1 else alpha.reshape(1)
            nodes.append(helper.make_node("PRelu", [name(ins[0]), constant(out + "_slope", slope)], [out]))
        elif kind == "ADD":
            opts = tflite.AddOptions()
            opts.Init(table.Bytes, table.Pos)
            act = opts.FusedActivationFunction()
            nodes.append(helper.make_node("Add", [name(ins[0]), name(ins[1])], [out + "_pre" if ACTIVATIONS[act] else out]))
            nodes += activation(out, act)
        elif kind == "MAX_POOL_2D":
            opts = tflite.Pool2DOptions()
            opts.Init(table.Bytes, table.Pos)
            nodes.append(helper.make_node(
                "MaxPool", [name(ins[0])], [out], kernel_shape=[opts.FilterHeight(), opts.FilterWidth()],
                strides=[opts.StrideH(), opts.StrideW()],
                auto_pad="SAME_UPPER" if opts.Padding() == tflite.Padding.SAME else "VALID"))
        elif kind == "PAD":
            nhwc = array(ins[1])  # rows N, H, W, C; columns before, after
            order = [0, 3, 1, 2]
            pads = [int(nhwc[r, 0]) for r in order] + [int(nhwc[r, 1]) for r in order]
            nodes.append(helper.make_node("Pad", [name(ins[0]), constant(out + "_pads", np.int64(pads))], [out]))
        else:
            raise ValueError(f"layer {kind} is not one this converter knows")
    outputs = []
    for i in graph.OutputsAsNumpy():
        final = OUTPUT_NAMES[name(i)]
        channels = int(graph.Tensors(i).ShapeAsNumpy()[-1])
        nodes.append(helper.make_node("Reshape", [name(i), constant(final + "_shape", np.int64([1, channels]))], [final]))
        outputs.append(helper.make_tensor_value_info(final, TensorProto.FLOAT, [1, channels]))
    onnx_graph = helper.make_graph(
        nodes, "face_landmark", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 192, 192, 3])],
        outputs, initializers)
    converted = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", 17)],
                                  producer_name="fer-desktop assets/convert_face_landmark.py")
    converted.ir_version = 8
    onnx.checker.check_model(converted)
    onnx.save(converted, onnx_path)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python assets/convert_face_landmark.py FACE_LANDMARK.tflite OUT.onnx")
    convert(sys.argv[1], sys.argv[2])
