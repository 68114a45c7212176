"""`harness run`: the scenario matrix with pytest-xdist, writing every report.

Runs ``pytest PATH... -n N --dist loadgroup`` (one worker owns each peer) with JUnit XML and the
scenario report (results.json, matrix.md, matrix.html) under ``--out``; pytest's progress line is
the progress display. PATH defaults to the repository's scenarios/; any folder of scenario files
works (docs/TARGETS.md). The user's own peers (``--target``, ``--client-command``, peers.toml)
are checked here first, so a typo or an unreachable server is one message, not a red matrix.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "harness.scenario.pytest_plugin"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--peer", action="append", default=[],
                   help="server peer id or a peers.toml server name (repeatable; default: all)")  # fmt: skip
    p.add_argument("--client-peer", action="append", default=[],
                   help="client peer (or peers.toml client name) for server-role scenarios")  # fmt: skip
    p.add_argument("--launcher", choices=("docker", "process"))
    p.add_argument("--out", default="results", help="directory for the reports (default results/)")
    p.add_argument("--seed", type=int, help="base seed (default: random, printed)")
    p.add_argument("-n", "--workers", default=str(min(os.cpu_count() or 1, 4)), help="pytest-xdist workers")
    p.add_argument("-k", dest="keyword", help="pytest -k expression to select scenarios")
    p.add_argument("--update-outcomes", action="store_true",
                   help="rewrite the pinned outcomes of the cells that ran and print the changes")  # fmt: skip
    p.add_argument("--add-outcomes", action="store_true",
                   help="add changed outcomes to their pins as alternatives (timing-dependent reactions)")  # fmt: skip
    p.add_argument("--require-pins", action="store_true", help="a cell without a pinned outcome fails")
    p.add_argument("scenarios", nargs="*", help="scenario files or folders, anywhere (default: scenarios/)")
    from harness.peers.user_peers import add_user_peer_arguments

    add_user_peer_arguments(p)
    p.add_argument("--expectations", metavar="DIR",
                   help="expectation manifests and pins (default: the repository's)")


def _check(args: argparse.Namespace) -> tuple[list[Path], Path | None]:
    """Scenario paths and the peers file, checked; raises ValueError/PeerError with the message."""
    from harness.peers.user_peers import (
        chosen_client_ids,
        chosen_server_ids,
        probe_clients,
        probe_targets,
        user_peers_from_args,
    )
    from harness.scenario.collect import builtin_client_ids, builtin_peer_ids, builtin_server_ids, check_paths

    paths = check_paths(args.scenarios) if args.scenarios else []
    builtin = builtin_peer_ids()
    peers, peers_file = user_peers_from_args(args, builtin)
    for peer in args.peer:
        if peer not in builtin_server_ids() and peer not in peers.servers:
            known = ", ".join([*builtin_server_ids(), *peers.servers])
            raise ValueError(f"--peer {peer}: no such server peer (built-in or in a peers file); known: {known}")
    for peer in args.client_peer:
        if peer not in builtin_client_ids() and peer not in peers.clients:
            raise ValueError(f"--client-peer {peer}: no such client peer (built-in, --client-command or a peers "
                             "file's [client.NAME])")  # fmt: skip
    probe_targets(peers, chosen_server_ids(args, peers))
    probe_clients(peers, chosen_client_ids(args, peers))
    if args.expectations and not Path(args.expectations).is_dir():
        raise ValueError(f"--expectations {args.expectations}: no such directory")
    return paths, peers_file


def pytest_argv(args: argparse.Namespace, paths: list[Path], peers_file: Path | None, out: Path) -> list[str]:
    argv = [sys.executable, "-m", "pytest", *(str(p) for p in paths or [ROOT / "scenarios"]),
            "-c", str(ROOT / "pyproject.toml"), "-p", PLUGIN, "-p", "no:cacheprovider",
            "-n", str(args.workers), "--dist", "loadgroup", "-rfEX", "--tb=short",
            f"--junitxml={out / 'junit.xml'}", f"--scenario-report={out}"]  # fmt: skip
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
    resolved = [*(("--target-identity", v) for v in args.identity), ("--target-known-hosts", args.known_hosts),
                ("--expectations", args.expectations)]  # fmt: skip
    for flag, value in resolved:
        if value:
            argv += [flag, str(Path(value).expanduser().resolve())]
    plain = {"--target": args.target, "--target-name": args.name, "--client-command": args.client_command,
             "--client-name": args.client_name, "--peers-file": peers_file}  # fmt: skip
    for flag, value in plain.items():
        if value:
            argv += [flag, str(value)]
    for flag in ("update_outcomes", "add_outcomes", "require_pins"):
        if getattr(args, flag):
            argv.append("--" + flag.replace("_", "-"))
    return argv


def run(args: argparse.Namespace) -> int:
    from harness.peers.base import PeerError

    try:
        paths, peers_file = _check(args)
    except (ValueError, PeerError) as exc:
        print(f"harness run: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    argv = pytest_argv(args, paths, peers_file, out)
    shown = [a if not (args.target and a == args.target) else "ssh://***" for a in argv]  # no password in logs
    print("running: " + shlex.join(shown), flush=True)
    # pytest runs where the caller is (relative paths in a client command or peers.toml work);
    # -c keeps the repository's pytest settings (timeouts, markers) for any scenario folder.
    code = subprocess.call(argv)
    print(f"reports: {out / 'matrix.md'}, {out / 'matrix.html'}, {out / 'results.json'}, {out / 'junit.xml'}")
    return code
