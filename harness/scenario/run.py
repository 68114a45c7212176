"""`harness run`: the scenario matrix with pytest-xdist, writing every report.

Runs ``pytest PATH... -n N --dist loadgroup`` (one worker owns each server peer) with the scenario report
(results.json, matrix.md, matrix.html, junit.xml) under ``--out``; pytest's progress line is the
progress display. PATH defaults to the scenarios/ of the checkout or the installed wheel; any
folder of scenario files works (docs/TARGETS.md). The user's own peers (``--target``,
``--client-command``, peers.toml) are checked here first, so a typo or an unreachable server is
one message, not a red matrix.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

from harness.cli_common import UserError, run_child
from harness.resources import data_root, scenarios_dir

PYTEST_USAGE_ERROR = 4  # pytest.ExitCode.USAGE_ERROR (bad -k, bad scenario file or manifest)
ROOT = data_root()  # the checkout or the installed wheel's data
PLUGIN = "harness.scenario.pytest_plugin"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--peer", action="append", default=[],
                   help="server peer id, peers.toml server, or a group: default, zoo, all (repeatable)")  # fmt: skip
    p.add_argument("--client-peer", action="append", default=[],
                   help="client peer, peers.toml client, or group default/zoo/all (server-role scenarios)")  # fmt: skip
    p.add_argument("--launcher", choices=("docker", "process"))
    p.add_argument("--out", default="results", help="directory for the reports (default results/)")
    p.add_argument("--seed", type=int, help="base seed (default: random, printed)")
    # Cells mostly wait on peers (silence windows, handshakes, client processes); one worker owns
    # each server peer and client-peer cells go to any free worker. 12 workers keep 2 cores busy:
    # 16 saturate them (measured: slower, and replies late enough to change "silent 1 s" outcomes).
    p.add_argument("-n", "--workers", default=str(min(max(12, os.cpu_count() or 1), 24)),
                   help="pytest-xdist workers (default: 12, or the number of cores up to 24)")  # fmt: skip
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
    # junit.xml comes from the scenario report (short messages, transcripts in system-out).
    argv = [sys.executable, "-m", "pytest", *(str(p) for p in paths or [scenarios_dir()]),
            "-p", PLUGIN, "-p", "no:cacheprovider", "-n", str(args.workers), "--dist", "loadgroup",
            "-rfEX", "--tb=short", f"--scenario-report={out}"]  # fmt: skip
    if (ROOT / "pyproject.toml").is_file():  # the checkout's pytest settings (timeouts, markers)
        argv += ["-c", str(ROOT / "pyproject.toml")]
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
    if args.shard:
        argv += ["--scenario-shard", args.shard]
    for flag in ("update_outcomes", "add_outcomes", "require_pins"):
        if getattr(args, flag):
            argv.append("--" + flag.replace("_", "-"))
    return argv


def run(args: argparse.Namespace) -> int:
    from harness.peers.base import PeerError

    try:
        paths, peers_file = _check(args)
        if args.shard:
            from harness.scenario.shard import parse_shard

            parse_shard(args.shard)
    except (ValueError, PeerError) as exc:
        raise UserError(f"run: {exc}") from exc
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    argv = pytest_argv(args, paths, peers_file, out)
    shown = [a if not (args.target and a == args.target) else "ssh://***" for a in argv]  # no password in logs
    print("running: " + shlex.join(shown), flush=True)
    started = time.time()
    env = dict(os.environ)
    if args.pcap:  # read by harness/capture in every worker; one subdirectory per cell
        env["HARNESS_PCAP_DIR"] = str(Path(args.pcap).resolve())
    # pytest runs where the caller is (relative paths in a client command or peers.toml work).
    with tempfile.TemporaryFile() as errors:  # pytest's own stderr: a usage error becomes our one line
        code = run_child(argv, stderr=errors, env=env)  # Ctrl-C/SIGTERM: one SIGINT, pytest stops its peers
        errors.seek(0)
        error_text = errors.read().decode("utf-8", "replace")
    if code == PYTEST_USAGE_ERROR and error_text.strip():
        raise UserError("run: " + error_text.strip().splitlines()[0].removeprefix("ERROR: "))
    sys.stderr.write(error_text)
    reports = [out / name for name in ("matrix.md", "matrix.html", "results.json", "junit.xml")]
    written = [str(path) for path in reports if path.is_file() and path.stat().st_mtime >= started - 1]
    print(f"reports: {', '.join(written)}" if written else "reports: none written")
    return code
