"""Builds the text detector into an ``.mlpackage`` (runs on Linux and macOS).

    python -m services.inference.tools.convert --output models/ui-text-detector.mlpackage \
        [--height 960 --width 1280] [--compute-units CPU_AND_NE] \
        [--quantize none|int8|palettize8|palettize4] [--version 1.0.0] [--check]

``--check`` reloads the saved package and prints its inputs, outputs and metadata; on macOS it
also runs one prediction.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys

from services.inference.tools import detector_model as dm


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m services.inference.tools.convert",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--output", required=True, help="path ending in .mlpackage")
    ap.add_argument("--height", type=int, default=dm.DEFAULT_SHAPE[2])
    ap.add_argument("--width", type=int, default=dm.DEFAULT_SHAPE[3])
    ap.add_argument("--compute-units", default="CPU_AND_NE", choices=dm.COMPUTE_UNITS)
    ap.add_argument("--quantize", default="none", choices=dm.QUANTIZATIONS)
    ap.add_argument("--version", default=dm.MODEL_VERSION)
    ap.add_argument("--check", action="store_true", help="reload and describe the result")
    args = ap.parse_args(argv)
    try:
        import coremltools  # noqa: F401 - a clear message instead of a deep traceback
    except ImportError:
        print("coremltools is not installed: pip install -e '.[coreml]'", file=sys.stderr)
        return 2
    options = dm.BuildOptions(height=args.height, width=args.width,
                              compute_units=args.compute_units, quantize=args.quantize,
                              version=args.version)
    try:
        path = dm.save(dm.build_model(options), args.output)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"saved {path}")
    if args.check:
        on_mac = platform.system() == "Darwin"
        model = dm.load(path, args.compute_units, skip_model_load=not on_mac)
        print(json.dumps(dm.describe(model), indent=2))
        if on_mac:
            import numpy as np

            out = model.predict({dm.INPUT_NAME: np.zeros((1, 3, args.height, args.width),
                                                         dtype=np.float32)})
            print("prediction outputs:", sorted(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
