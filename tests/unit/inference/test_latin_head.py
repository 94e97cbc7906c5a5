"""latin_head: PP-OCR's recogniser cut to Latin script reads Latin text as the whole one does,
keeps every character a Latin desktop shows, and refuses a model it does not fit."""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from PIL import Image, ImageDraw, ImageFont

from services.inference.cpu.engines import RAPIDOCR_MODELS, RapidRecognizer, rapidocr_model_dir
from services.inference.cpu.latin_head import latin_model

WORDS = ["budget.ods", "Q4_report-v2.xlsx", "/var/log/syslog", "j.smith@example.org",
         "€1,299.00", "12:45", "Résumé", "Save", "drwxr-xr-x", "~/src/app.tar.gz"]


def _crop(text: str, size: int) -> np.ndarray:
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", size)
    width = int(font.getlength(text)) + 12
    img = Image.new("RGB", (width, size + 12), (250, 250, 250))
    ImageDraw.Draw(img).text((6, 4), text, font=font, fill=(30, 30, 30))
    return np.asarray(img)


@pytest.fixture(scope="module")
def cut(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return latin_model(rapidocr_model_dir() / RAPIDOCR_MODELS[1],
                       tmp_path_factory.mktemp("models"))


def test_the_cut_dictionary_keeps_latin_and_drops_other_scripts(cut: Path) -> None:
    model = onnx.load(str(cut), load_external_data=False)
    chars = {p.key: p.value for p in model.metadata_props}["character"].split("\n")
    assert set(string.printable.strip()) <= set(chars)
    assert {"é", "ü", "ß", "€", "£", "\u2013", "\u2014", "…", "“", "”", "•", "™"} <= set(chars)
    assert not {"的", "あ", "한", "Ж"} & set(chars)
    classes = model.graph.output[0].type.tensor_type.shape.dim[-1].dim_value
    assert classes == len(chars) + 2  # CTC's blank before, the space after


def test_the_cut_model_reads_latin_words_as_the_whole_one_does(cut: Path) -> None:
    whole = RapidRecognizer(threads=1, latin_only=False)
    latin = RapidRecognizer(threads=1, latin_only=True)
    crops = [_crop(w, size) for w in WORDS for size in (11, 15)]
    full_texts = [t for t, _ in whole.recognize_crops(crops)]
    latin_texts = [t for t, _ in latin.recognize_crops(crops)]
    assert latin_texts == full_texts
    # And they are readings, not noise: most words come back exactly.
    assert sum(t == w for t, w in zip(latin_texts, [w for w in WORDS for _ in (11, 15)],
                                      strict=True)) >= 0.7 * len(crops)


def test_the_cut_is_built_once(cut: Path) -> None:
    before = cut.stat().st_mtime_ns
    again = latin_model(rapidocr_model_dir() / RAPIDOCR_MODELS[1], cut.parent)
    assert again == cut and cut.stat().st_mtime_ns == before


def test_a_model_without_a_character_softmax_head_is_refused(tmp_path: Path) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    model = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])],
                                                "g", [x], [y]))
    helper.set_model_props(model, {"character": "a\nb"})
    path = tmp_path / "other.onnx"
    onnx.save(model, str(path))
    with pytest.raises(ValueError, match="Softmax"):
        latin_model(path, tmp_path / "cache")
