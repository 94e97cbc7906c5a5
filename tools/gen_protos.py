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
# Our proto packages all live under bytebot/; generated code is only ever looked for there.
GENERATED_TOP = "bytebot"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2_grpc.py", "_pb2.pyi")
# A FileDescriptorSet WITH source info (comments). The `_pb2` modules drop comments, so the
# reflection service serves these descriptors instead and `grpcurl describe` shows the docs.
DESCRIPTOR_SET = "descriptors.binpb"


def proto_files(root: Path = PROTO_ROOT) -> list[Path]:
    return sorted(root.rglob("*.proto"))


def generated_files(out: Path) -> list[Path]:
    """Every generated file (modules, stubs and package `__init__.py`) under `out`, sorted."""
    top = out / GENERATED_TOP
    if not top.is_dir():
        return []
    return sorted(
        path
        for path in top.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and (
            path.name in ("__init__.py", DESCRIPTOR_SET)
            or path.name.endswith(GENERATED_SUFFIXES)
        )
    )


def remove_orphans(out: Path) -> None:
    """Delete generated modules whose .proto no longer exists, so renames leave nothing behind."""
    expected = {p.relative_to(PROTO_ROOT).with_suffix("") for p in proto_files()}
    for path in generated_files(out):
        if path.name in ("__init__.py", DESCRIPTOR_SET):
            continue
        stem = path.name
        for suffix in GENERATED_SUFFIXES:
            if stem.endswith(suffix):
                stem = stem[: -len(suffix)]
                break
        if path.relative_to(out).with_name(stem) not in expected:
            path.unlink()


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
    (out / GENERATED_TOP).mkdir(parents=True, exist_ok=True)
    files = [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        "--include_source_info",
        "--include_imports",
        f"--descriptor_set_out={out / GENERATED_TOP / DESCRIPTOR_SET}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    remove_orphans(out)
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
