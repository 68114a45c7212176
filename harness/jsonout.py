"""``--json`` output: the result document alone on stdout, everything else on stderr.

Why: a script reads ``harness interop --json | jq ...``; progress lines, tables, pytest and
subprocess chatter (docker, ssh) must not get in its way. While the command runs, file
descriptor 1 points at stderr (so child processes' output moves too) and ``sys.stdout`` is
stderr; the JSON is written to the real stdout at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any


def emit_json(produce: Callable[[], tuple[int, Any]]) -> int:
    """Run ``produce`` (returning an exit code and a JSON-ready document) with stdout moved to
    stderr, then print the document as JSON on stdout; returns the exit code."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            code, document = produce()
        sys.stderr.flush()
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    sys.stdout.write(json.dumps(document, indent=1, default=str) + "\n")
    sys.stdout.flush()
    return code
