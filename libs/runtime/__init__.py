"""The shared runtime (docs/runtime-api.md). Import submodules directly; the supervised
loop helpers are re-exported here because every periodic task of every service uses them."""

from libs.runtime.supervised_loop import (
    BackgroundLoops,
    SupervisedLoop,
    describe_error,
    safe_error_text,
)

__all__ = ["BackgroundLoops", "SupervisedLoop", "describe_error", "safe_error_text"]
