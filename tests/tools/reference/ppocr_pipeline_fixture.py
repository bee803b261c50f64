#!/usr/bin/env python3
"""Fixture for the C++ PP-OCR pipeline's parity test (tests/smoke/test_ppocr_pipeline.cpp): rapidocr 3.10.0's
full pipeline (angle classifier off, as ppocr_compare.py; models named by path, nothing downloaded) on three small
images (decoded by OpenCV), its line boxes (axis-aligned bounds of the quads, original-image pixels), texts and scores, written to
tests/data/reference/ppocr/lines.json. Two images are committed real screenshots; the third, strip.png, is a crop
of screen-01 (its top 40 rows), wider than 8:1 so that rapidocr's vertical padding is exercised.

Runs in the standalone venv of tests/tools/reference/ppocr_requirements.txt (~/.cache/uhdlens-reference/ppocr)."""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(HERE))
import reference_env  # noqa: E402

OUT = ROOT / "tests" / "data" / "reference" / "ppocr"
IMAGES = [
    ("dialog-03-zenity-12px.png", ROOT / "tests/data/real-screenshots/dialog-03-zenity-12px.png"),
    ("term-05-cat-12px.png", ROOT / "tests/data/real-screenshots/term-05-cat-12px.png"),
    ("strip.png", OUT / "strip.png"),
]


def main():
    reference_env.ensure_venv("ppocr", HERE / "ppocr_requirements.txt", __file__, system_site_packages=False)
    import cv2
    import rapidocr
    from rapidocr import RapidOCR

    cv2.setNumThreads(1)
    strip = OUT / "strip.png"
    if not strip.exists():
        src = cv2.imread(str(ROOT / "tests/data/real-screenshots/screen-01-1280x800.png"))
        cv2.imwrite(str(strip), src[0:40, 0:640])
    models = Path(rapidocr.__file__).resolve().parent / "models"
    engine = RapidOCR(params={
        "Global.use_cls": False,
        "Global.log_level": "warning",
        "Det.model_path": str(models / "PP-OCRv6_det_small.onnx"),
        "Rec.model_path": str(models / "PP-OCRv6_rec_small.onnx"),
        "EngineConfig.onnxruntime.intra_op_num_threads": 1,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    })
    result = {"rapidocr": rapidocr.__version__ if hasattr(rapidocr, "__version__") else "3.10.0", "images": []}
    for name, path in IMAGES:
        # decoded pixels (BGR ndarray), as ppocr_compare.py passes them: given a path, rapidocr's own loader
        # reads palette PNGs through PIL and blends their transparency, which the C++ side (a QImage) does not
        out = engine(cv2.imread(str(path), cv2.IMREAD_COLOR), use_cls=False)
        lines = []
        if out is not None and getattr(out, "txts", None) is not None:
            for box, txt, score in zip(out.boxes, out.txts, out.scores):
                xs = [float(p[0]) for p in box]
                ys = [float(p[1]) for p in box]
                lines.append({"text": txt, "score": round(float(score), 5),
                              "box": [min(xs), min(ys), max(xs), max(ys)]})
        result["images"].append({"name": name, "path": str(path.relative_to(ROOT)), "lines": lines})
        print(name, len(lines), "lines:", [l["text"] for l in lines], file=sys.stderr)
    (OUT / "lines.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
