"""Compatibility import: the status vocabulary moved to `libs.status.errors` (issue 13).

New code imports `libs.status.errors`; this module keeps older imports working.
"""

from libs.status.errors import *  # noqa: F403
