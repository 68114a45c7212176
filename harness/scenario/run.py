"""`harness run`: the default scenario matrix with pytest-xdist, writing every report.

Runs ``pytest scenarios/ -n N --dist loadgroup`` (one worker owns each peer) with the scenario report
(results.json, matrix.md, matrix.html, junit.xml) under ``--out``; pytest's progress
line is the progress display.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from harness.cli_common import UserError, run_child
from harness.resources import data_root, scenarios_dir

PYTEST_USAGE_ERROR = 4  # pytest.ExitCode.USAGE_ERROR (bad -k, bad scenario file or manifest)
ROOT = data_root()  # scenarios/ (and pytest's working directory): checkout or installed wheel


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--peer", action="append", default=[], help="server peer id (repeatable; default: all)")
    p.add_argument("--client-peer", action="append", default=[], help="client peer for server-role scenarios")
    p.add_argument("--launcher", choices=("docker", "process"))
    p.add_argument("--out", default="results", help="directory for the reports (default results/)")
    p.add_argument("--seed", type=int, help="base seed (default: random, printed)")
    p.add_argument("-n", "--workers", default=str(min(os.cpu_count() or 1, 4)), help="pytest-xdist workers")
    p.add_argument("-k", dest="keyword", help="pytest -k expression to select scenarios")
    p.add_argument("--shard", metavar="I/N",
                   help="run only shard I of N (CI matrices; join with `harness report merge`)")  # fmt: skip
    p.add_argument("--pcap", metavar="DIR",
                   help="write a pcapng and SSH key log per connection, linked from the report")  # fmt: skip
    p.add_argument("--update-outcomes", action="store_true",
                   help="rewrite the pinned outcomes of the cells that ran and print the changes")  # fmt: skip
    p.add_argument("--add-outcomes", action="store_true",
                   help="add changed outcomes to their pins as alternatives (timing-dependent reactions)")  # fmt: skip
    p.add_argument("--require-pins", action="store_true", help="a cell without a pinned outcome fails")
    p.add_argument("scenarios", nargs="*", help="scenario files or directories (default: scenarios/)")


def run(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "pytest", *(args.scenarios or [str(scenarios_dir())]), "-p", "no:cacheprovider",
            "-n", str(args.workers), "--dist", "loadgroup", "-rfEX", "--tb=short",
            f"--scenario-report={out}"]  # fmt: skip (junit.xml comes from the scenario report: short messages)
    for peer in args.peer:
        argv += ["--peer", peer]
    for peer in args.client_peer:
        argv += ["--client-peer", peer]
    if args.launcher:
        argv += ["--launcher", args.launcher]
    if args.seed is not None:
        argv += ["--scenario-seed", str(args.seed)]
    if args.keyword:
        argv += ["-k", args.keyword]
    if args.shard:
        from harness.scenario.shard import parse_shard

        try:
            parse_shard(args.shard)
        except ValueError as exc:
            print(f"harness run: {exc}", file=sys.stderr)
            return 2
        argv += ["--scenario-shard", args.shard]
    for flag in ("update_outcomes", "add_outcomes", "require_pins"):
        if getattr(args, flag):
            argv.append("--" + flag.replace("_", "-"))
    print("running: " + " ".join(argv), flush=True)
    started = time.time()
    env = dict(os.environ)
    if args.pcap:  # read by harness/capture in every worker; one subdirectory per cell
        env["HARNESS_PCAP_DIR"] = str(Path(args.pcap).resolve())
    with tempfile.TemporaryFile() as errors:  # pytest's own stderr: a usage error becomes our one line
        code = run_child(argv, cwd=ROOT, stderr=errors, env=env)  # Ctrl-C/SIGTERM: one SIGINT, pytest stops its peers
        errors.seek(0)
        error_text = errors.read().decode("utf-8", "replace")
    if code == PYTEST_USAGE_ERROR and error_text.strip():
        raise UserError("run: " + error_text.strip().splitlines()[0].removeprefix("ERROR: "))
    sys.stderr.write(error_text)
    reports = [out / name for name in ("matrix.md", "matrix.html", "results.json", "junit.xml")]
    written = [str(path) for path in reports if path.is_file() and path.stat().st_mtime >= started - 1]
    print(f"reports: {', '.join(written)}" if written else "reports: none written")
    return code
