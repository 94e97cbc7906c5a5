"""Macros for the Bytebot BUILD files: one BUILD per Python package, tests found by glob.

- py_package():       the package's modules (and non-Python files) as one py_library.
- py_tests():         one py_test per test_*.py file below the package, run with pytest.
- proto_py_library(): a genrule running `python -m grpc_tools.protoc` on the package's .proto
                      files (same flags as tools/gen_protos.py) and a py_library of its outputs.

Imports are rooted at the repository root, as in pytest: the runfiles tree mirrors the
repository, and pytest (configured by the pyproject.toml in the runfiles) adds "." and "protos"
to sys.path. Generated protobuf code comes from the genrule's outputs in bazel-out; the copies
committed next to the protos (used by plain pytest) are excluded from every Bazel target.
"""

# Files that tools/gen_protos.py generates next to the protos; never Bazel sources.
GENERATED_PATTERNS = [
    "**/*_pb2.py",
    "**/*_pb2_grpc.py",
    "**/*_pb2.pyi",
    "**/descriptors.binpb",
]

_NOT_DATA = [
    "BUILD",
    "**/BUILD",
    "BUILD.bazel",
    "**/BUILD.bazel",
    "**/*.py",
    "**/*.pyc",
    "**/__pycache__/**",
    "**/.pytest_cache/**",
    "**/.hypothesis/**",
]

# Everything the tests may read besides Python code (see //:test_data).
_TEST_DATA = ["//:test_data"]

# Every library of the repository (see //:all_python): tests may import any of them.
_ALL_PYTHON = ["//:all_python"]

# Every test package's helpers and conftest files (see //tests:all_support): tests import
# helpers across test packages (e.g. tests/unit uses tests/conformance/harness.py).
_ALL_TEST_SUPPORT = ["//tests:all_support"]

def py_package(name = None, deps = [], data = [], visibility = ["//visibility:public"]):
    """The Python package in this directory (and sub-directories without their own BUILD).

    Test files (test_*.py) are left to py_tests(); generated protobuf copies are excluded.
    """
    native.py_library(
        name = name or native.package_name().split("/")[-1],
        srcs = native.glob(["**/*.py"], exclude = ["**/test_*.py"] + GENERATED_PATTERNS),
        data = native.glob(["**/*"], exclude = _NOT_DATA + GENERATED_PATTERNS) + data,
        deps = deps,
        visibility = visibility,
    )

def py_tests(
        timeout = "moderate",
        size = "medium",
        deps = [],
        data = [],
        tags = [],
        overrides = {},
        exclude = []):
    """One py_test per test_*.py file below this package (sub-packages without a BUILD included).

    Each target is named after the file path without ".py" (e.g. //tests/unit:tasks/test_queue)
    and runs `pytest <file>` through //tools/bazel:pytest_runner.py. Helper modules and
    conftest.py files of the package form its ":support" library; every test depends on all
    test packages' support libraries (//tests:all_support) and on //:all_python.

    Args:
      timeout, size: Bazel's defaults for every test of the package.
      deps, data, tags: added to every test.
      overrides: {"path/test_x.py": {"timeout": "long", "tags": [...], ...}} per file.
      exclude: test files Bazel must not run (say why in a comment where you list them).
    """
    support = "support"
    native.py_library(
        name = support,
        srcs = native.glob(["**/*.py"], exclude = ["**/test_*.py"] + GENERATED_PATTERNS),
        data = native.glob(["**/*"], exclude = _NOT_DATA + GENERATED_PATTERNS),
        deps = _ALL_PYTHON + deps,
        testonly = True,
        visibility = ["//visibility:public"],
    )
    for src in native.glob(["**/test_*.py"], exclude = exclude):
        extra = dict(overrides.get(src, {}))
        native.py_test(
            name = src[:-len(".py")],
            srcs = [src, "//tools/bazel:pytest_runner.py"],
            main = "//tools/bazel:pytest_runner.py",
            args = ["$(rootpath %s)" % src],
            python_version = "PY3",
            srcs_version = "PY3",
            deps = [":" + support] + _ALL_TEST_SUPPORT + extra.pop("deps", []),
            data = _TEST_DATA + data + extra.pop("data", []),
            size = extra.pop("size", size),
            timeout = extra.pop("timeout", timeout),
            tags = tags + extra.pop("tags", []),
            **extra
        )

def proto_py_library(name, srcs, deps = [], visibility = ["//visibility:public"]):
    """Python code generated from `srcs` (.proto files of this package) by a genrule.

    Outputs mirror tools/gen_protos.py exactly (//tools/bazel:generated_code_test checks it):
    x_pb2.py, x_pb2_grpc.py and x_pb2.pyi per proto, an __init__.py per directory, and
    <top>/descriptors.binpb (a descriptor set with comments, served by reflection).
    The py_library's `imports = ["."]` makes `from bytebot.tasks.v1 import tasks_pb2` work.
    """
    pkg = native.package_name()
    outs = []
    dirs = {}
    tops = {}
    for src in srcs:
        stem = src[:-len(".proto")]
        outs += [stem + "_pb2.py", stem + "_pb2_grpc.py", stem + "_pb2.pyi"]
        parts = src.split("/")[:-1]
        tops[parts[0]] = True
        for i in range(1, len(parts) + 1):
            dirs["/".join(parts[:i])] = True
    if len(tops) != 1:
        fail("proto_py_library expects all protos under one top-level directory, got %s" % tops.keys())
    top = tops.keys()[0]
    inits = [d + "/__init__.py" for d in sorted(dirs.keys())]
    descriptor_set = top + "/descriptors.binpb"

    py = "$(location @bytebot_python//:python3)"
    native.genrule(
        name = name + "_gen",
        srcs = srcs,
        outs = outs + inits + [descriptor_set],
        tools = ["@bytebot_python//:python3"],
        cmd = " && ".join([
            "WKT=$$(%s -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), \"_proto\"))')" % py,
            ("%s -m grpc_tools.protoc -I%s -I$$WKT --python_out=$(RULEDIR) --pyi_out=$(RULEDIR) " +
             "--grpc_python_out=$(RULEDIR) --include_source_info --include_imports " +
             "--descriptor_set_out=$(RULEDIR)/%s $(SRCS)") % (py, pkg or ".", descriptor_set),
            "touch " + " ".join(["$(RULEDIR)/" + f for f in inits]),
        ]),
        message = "Generating Python protobuf code for //%s" % pkg,
    )
    native.py_library(
        name = name,
        srcs = [f for f in outs + inits if f.endswith(".py")],
        data = [f for f in outs if f.endswith(".pyi")] + [descriptor_set],
        imports = ["."],
        deps = deps,
        visibility = visibility,
    )
