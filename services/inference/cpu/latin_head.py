"""A Latin-script copy of the PP-OCR recogniser: its output layer cut to the characters a
Latin desktop shows.

The recogniser in the ``rapidocr`` wheel reads 18 708 characters (CJK, kana, Hangul, ...);
its last layer (120 x 18 710 weights, 43 % of the model) scores every one of them at every
time step. A screen of Latin text needs ~700 of them. Keeping only those columns of the last
MatMul and Add gives the same argmax wherever the winner is a kept character (the kept
logits are unchanged; softmax keeps their order), removes readings in scripts the screen does
not hold, and costs 14-18 % less CPU per crop (``bench/pp_ocr_latin_head.py``, 693 word
crops of the tune split: 8.3 vs 9.7 s and 7.8 vs 9.5 s in two runs; the same 693 readings).
Confidences rise by the share the dropped classes had: a mark read as "二" at 0.45 is an en
dash at 0.55 (the backend takes no lone mark from a re-read blob).

The cut model is written once to a cache folder (``tempfile.gettempdir()``: an emptyDir in
the pods) under a name holding the source's size and modification time, so an upgraded wheel
gets a fresh copy.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Unicode blocks kept (start, end exclusive): Latin with Latin-1, Extended-A and -B; general
# punctuation (dashes, quotes, bullet, ellipsis); currency; letterlike (™, №); arrows.
KEPT_BLOCKS = ((0x20, 0x250), (0x2000, 0x2070), (0x20A0, 0x20D0), (0x2100, 0x2150),
               (0x2190, 0x2200))
_DICT_KEY = "character"
_VERSION = "1"  # bump when KEPT_BLOCKS or the cut change


def kept(char: str) -> bool:
    return len(char) == 1 and any(a <= ord(char) < b for a, b in KEPT_BLOCKS)


def latin_model(source: Path, cache_dir: Path | None = None) -> Path:
    """The path of ``source`` with its output layer cut to ``KEPT_BLOCKS`` (built on first
    use). Raises ValueError if the model's last layer is not the MatMul + Add + Softmax over
    its character dictionary this cut expects."""
    stat = source.stat()
    folder = cache_dir or Path(tempfile.gettempdir()) / "bytebot-models"
    target = folder / f"{source.stem}.latin{_VERSION}-{stat.st_size}-{int(stat.st_mtime)}.onnx"
    if target.is_file():
        return target
    model = _cut(source)
    folder.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed: a second process loading at the same time never reads a
    # half-written model.
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".onnx.tmp")
    os.close(fd)
    try:
        import onnx

        onnx.save(model, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _cut(source: Path) -> object:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    meta = {p.key: p for p in model.metadata_props}
    if _DICT_KEY not in meta:
        raise ValueError(f"{source.name}: no character dictionary in its metadata")
    chars = meta[_DICT_KEY].value.split("\n")
    nodes = {out: node for node in graph.node for out in node.output}
    softmax = nodes.get(graph.output[0].name)
    add = _producer(nodes, softmax, "Add")
    matmul = _producer(nodes, add, "MatMul")
    if softmax is None or softmax.op_type != "Softmax" or add is None or matmul is None:
        raise ValueError(f"{source.name}: its output is not Softmax(MatMul + Add)")
    weights = {i.name: i for i in graph.initializer}
    w_init, b_init = weights.get(matmul.input[1]), weights.get(add.input[1])
    if w_init is None or b_init is None:
        raise ValueError(f"{source.name}: the last layer's weights are not constants")
    w, b = numpy_helper.to_array(w_init), numpy_helper.to_array(b_init)
    classes = w.shape[1]
    # Class 0 is CTC's blank, 1..len(chars) the dictionary, any rest (the space) follows.
    if b.shape != (classes,) or classes < len(chars) + 1:
        raise ValueError(f"{source.name}: {classes} classes for {len(chars)} characters")
    keep = [0, *(i + 1 for i, c in enumerate(chars) if kept(c)),
            *range(len(chars) + 1, classes)]
    w_init.CopyFrom(numpy_helper.from_array(w[:, keep], w_init.name))
    b_init.CopyFrom(numpy_helper.from_array(b[keep], b_init.name))
    meta[_DICT_KEY].value = "\n".join(c for c in chars if kept(c))
    # The stored shapes of the cut tensors name the old class count: drop them, and give the
    # output its new one.
    cut = {add.output[0], *softmax.input, *softmax.output, matmul.output[0]}
    kept_info = [v for v in graph.value_info if v.name not in cut]
    del graph.value_info[:]
    graph.value_info.extend(kept_info)
    dims = graph.output[0].type.tensor_type.shape.dim
    if dims:
        dims[-1].dim_value = len(keep)
    return model


def _producer(nodes: dict, node: object, op_type: str) -> object | None:
    """The node of ``op_type`` feeding ``node``'s first input, through Identity nodes."""
    while node is not None:
        node = nodes.get(node.input[0])
        if node is None or node.op_type != "Identity":
            break
    return node if node is not None and node.op_type == op_type else None
