"""Generate Python code (`*_pb2.py`, `*_pb2_grpc.py`, `*_pb2.pyi`) from protos/.

One command, used by developers, CI and the staleness test:

    python tools/gen_protos.py            # regenerate in place
    python tools/gen_protos.py --out DIR  # generate into DIR (the staleness test compares)

Generated files are never edited by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO / "protos"


def proto_files(root: Path = PROTO_ROOT) -> list[Path]:
    return sorted(root.rglob("*.proto"))


def ensure_packages(out: Path) -> None:
    """Make every generated directory an importable package."""
    for pb in out.rglob("*_pb2.py"):
        directory = pb.parent
        while directory != out and directory.is_relative_to(out):
            init = directory / "__init__.py"
            if not init.exists():
                init.write_text("")
            directory = directory.parent


def generate(out: Path) -> None:
    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    files = [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    ensure_packages(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROTO_ROOT, help="output root")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    generate(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
