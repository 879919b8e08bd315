"""How the ONNX files in this folder were made from MediaPipe's TFLite models.

    pip download --no-deps mediapipe==0.10.21 -d /tmp/mp
    unzip -j /tmp/mp/mediapipe-0.10.21-*.whl mediapipe/modules/face_landmark/face_landmark.tflite \
        mediapipe/modules/face_detection/face_detection_short_range.tflite -d /tmp/mp
    pip install tflite onnx            # the flatbuffer reader; neither is needed to run the app
    python assets/convert_tflite.py face_landmark /tmp/mp/face_landmark.tflite assets/face_landmark.onnx
    python assets/convert_tflite.py face_detection_short_range \
        /tmp/mp/face_detection_short_range.tflite assets/face_detection_short_range.onnx

The models (Apache-2.0, LICENSE-mediapipe.txt) are small CNNs of a few kinds of
layer; general converters need TensorFlow or stop at their float16 weights, so
this writes the same graph in ONNX directly: weights made float32, NHWC turned
to NCHW once at the input.

- ``face_landmark``: input ``image`` (1, 192, 192, 3) RGB in 0-1; outputs
  ``landmarks`` (1, 1404) and ``face_logit`` (1, 1), whose sigmoid is the face
  presence score. Checked against the TFLite runtime (ai-edge-litert 2.3.0): the
  logit agrees to 1e-5 and the landmarks to 1.4e-4 px on the astronaut and on noise.
- ``face_detection_short_range`` (BlazeFace): input ``image`` (1, H, W, 3) RGB
  in -1..1, H and W any multiples of 16 (the network is convolutional; 128x128
  is what it was trained at); outputs the two heads before their reshapes, NHWC:
  ``scores_8`` (1, H/8, W/8, 2) and ``boxes_8`` (1, H/8, W/8, 32), ``scores_16``
  (1, H/16, W/16, 6) and ``boxes_16`` (1, H/16, W/16, 96): per cell and anchor a
  logit and 16 numbers (box centre offset and size, six keypoint offsets) in input
  pixels. fer_desktop/faces/blazeface.py decodes them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import onnx
import tflite
from onnx import TensorProto, helper, numpy_helper

DTYPES = {tflite.TensorType.FLOAT32: np.float32, tflite.TensorType.FLOAT16: np.float16,
          tflite.TensorType.INT32: np.int32}
ACTIVATIONS = {0: None, 1: "Relu"}


@dataclass(frozen=True)
class Target:
    """What to take from one model: its outputs (TFLite tensor -> ONNX name) and how they are shaped."""

    outputs: dict[str, str]
    input_shape: list[int | str]
    flat_outputs: bool  # (1, C) as the landmark model's; else the NHWC head kept whole


TARGETS = {
    "face_landmark": Target({"conv2d_21": "landmarks", "conv2d_31": "face_logit"}, [1, 192, 192, 3], True),
    "face_detection_short_range": Target(
        {"classificator_8": "scores_8", "regressor_8": "boxes_8", "classificator_16": "scores_16",
         "regressor_16": "boxes_16"}, [1, "height", "width", 3], False),
}


def convert(target: Target, tflite_path: str, onnx_path: str) -> None:
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

    past_outputs = set(target.outputs)  # tensors made from the outputs: left to the decoder
    [input_index] = graph.InputsAsNumpy()
    nodes.append(helper.make_node("Transpose", ["image"], [name(input_index)], perm=[0, 3, 1, 2]))
    for k in range(graph.OperatorsLength()):
        op = graph.Operators(k)
        kind = tflite.opcode2name(model.OperatorCodes(op.OpcodeIndex()).BuiltinCode())
        ins, [out] = list(op.InputsAsNumpy()), [name(i) for i in op.OutputsAsNumpy()]
        table = op.BuiltinOptions()
        if any(name(i) in past_outputs for i in ins):
            past_outputs.add(out)  # the detector's reshapes and concatenations past its heads
            continue
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
        elif kind == "RELU":
            nodes.append(helper.make_node("Relu", [name(ins[0])], [out]))
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
    if target.flat_outputs:
        for i in graph.OutputsAsNumpy():
            final = target.outputs[name(i)]
            channels = int(graph.Tensors(i).ShapeAsNumpy()[-1])
            nodes.append(helper.make_node("Reshape", [name(i), constant(final + "_shape", np.int64([1, channels]))],
                                          [final]))
            outputs.append(helper.make_tensor_value_info(final, TensorProto.FLOAT, [1, channels]))
    else:
        for tensor, final in target.outputs.items():
            channels = int(next(graph.Tensors(i) for i in range(graph.TensorsLength())
                                if name(i) == tensor).ShapeAsNumpy()[-1])
            nodes.append(helper.make_node("Transpose", [tensor], [final], perm=[0, 2, 3, 1]))  # back to NHWC
            outputs.append(helper.make_tensor_value_info(final, TensorProto.FLOAT, [1, None, None, channels]))
    onnx_graph = helper.make_graph(
        nodes, tflite_path.rsplit("/", 1)[-1].removesuffix(".tflite"),
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, target.input_shape)], outputs, initializers)
    converted = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", 17)],
                                  producer_name="fer-desktop assets/convert_tflite.py")
    converted.ir_version = 8
    onnx.checker.check_model(converted)
    onnx.save(converted, onnx_path)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: python assets/convert_tflite.py {{{','.join(TARGETS)}}} MODEL.tflite OUT.onnx")
    convert(TARGETS[sys.argv[1]], sys.argv[2], sys.argv[3])
