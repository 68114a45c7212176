"""Command line: `harness interop` runs our client against the default real peers.

The interop run is the product's main job until the scenario engine lands: for every peer and
every algorithm we implement it connects forcing that algorithm, runs a command and echoes
data, and writes a Markdown and a JSON report. It exits non-zero when anything deviates.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def _interop(args: argparse.Namespace) -> int:
    from harness.matrix import run_matrix
    from harness.peers.base import PeerError
    from harness.peers.registry import default_launcher, default_peer_ids

    try:
        launcher = args.launcher or default_launcher()
    except PeerError as exc:
        print(f"harness interop: {exc}", file=sys.stderr)
        return 2
    peers = args.peer or default_peer_ids(launcher)
    if not peers:
        print(f"harness interop: no peers available with the {launcher} launcher", file=sys.stderr)
        return 2
    if args.pcap:  # every connection of this process writes a pcapng and key log (harness/capture)
        os.environ["HARNESS_PCAP_DIR"] = str(Path(args.pcap).resolve())
    if args.json:
        from dataclasses import asdict

        from harness.jsonout import emit_json

        def document() -> tuple[int, dict[str, object]]:
            cells = run_matrix(peers, launcher, Path(args.out), bulk=not args.no_bulk)
            totals = {r: sum(c.result == r for c in cells) for r in ("pass", "FAIL", "n/a")}
            return (1 if totals["FAIL"] else 0), {"launcher": launcher, "peers": peers, "totals": totals,
                                                   "cells": [asdict(c) for c in cells]}  # fmt: skip

        return emit_json(document)
    started = time.monotonic()
    cells = run_matrix(peers, launcher, Path(args.out), bulk=not args.no_bulk)
    fails = sum(c.result == "FAIL" for c in cells)
    passes = sum(c.result == "pass" for c in cells)
    print(f"\n{passes} pass, {fails} FAIL, {len(cells) - passes - fails} n/a across {len(peers)} peer(s) "
          f"in {time.monotonic() - started:.0f} s; wrote {args.out}/interop.md, interop.json and interop-junit.xml")
    return 1 if fails else 0


def _peers(args: argparse.Namespace) -> int:
    import subprocess

    from harness.peers.registry import registry, start_peer

    if args.action == "list":
        from harness.peers.docker import docker_available, peer_image_status

        ok, reason = docker_available()
        print(f"docker engine: {'yes' if ok else 'no'} ({reason})")
        print(f"{'id':22} {'role':7} {'launchers':16} image")
        from harness.peers.registry import sanitizer_peer_ids

        rows = [(entry.peer_id, entry.role, entry.launchers, "") for entry in registry()]
        sanitizer_note = " (sanitizer build, for fuzz --live)"  # not in the default sets
        rows += [(peer_id, "server", ("docker",), sanitizer_note) for peer_id in sanitizer_peer_ids()]
        for peer_id, role, launchers, note in rows:
            image = peer_image_status(peer_id)[1] if ok else "-"
            print(f"{peer_id:22} {role:7} {','.join(launchers):16} {image}{note}")
        return 0
    if args.action == "build":
        script = Path(__file__).resolve().parent.parent / "containers" / "bootstrap.sh"
        return subprocess.call(["bash", str(script)])
    if args.action == "stop":
        from harness.peers.docker import cleanup_stale_containers, docker_available

        if docker_available()[0]:
            removed = cleanup_stale_containers()
            print(f"removed {len(removed)} leftover peer container(s)")
        return 0
    if not args.id:
        print("harness peers start ID: give a peer id (see `harness peers list`)", file=sys.stderr)
        return 2
    launcher = args.launcher or __import__("harness.peers.registry", fromlist=["x"]).default_launcher()
    handle = start_peer(args.id, launcher)
    info = handle.info
    print(f"{info.peer_id} ({info.banner}) listening on {info.host}:{info.port}")
    print(f"  user {info.username} password {info.password}")
    print(f"  known_hosts {info.known_hosts}")
    for name, path in info.client_keys.items():
        print(f"  client key {name}: {path}")
    print("Ctrl-C stops it.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()
    return 0


def _record(args: argparse.Namespace) -> int:
    from harness.transcript import record_matrix

    paths = record_matrix(Path(args.out), seed=args.seed)
    print(f"recorded {len(paths)} transcripts under {args.out}")
    return 0


def _positive_int(text: str) -> int:
    """argparse type: a whole number above zero, with a message that says so."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above zero: {value}")
    return value


def _serve(args: argparse.Namespace) -> int:
    import getpass
    import logging
    import signal
    import threading

    from harness.host_key_store import (
        HostKeyStoreError,
        default_state_dir,
        known_hosts_lines,
        load_or_create_host_keys,
    )
    from harness.serve import Listener, ServeConfig, load_authorized_keys
    from harness.session_process import login_user_for
    from harness.ssh.keys import load_private_key_file

    level = logging.DEBUG if args.verbose else getattr(logging, args.log_level)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s")
    if level > logging.DEBUG:  # our own lines say what the transport's INFO lines would repeat
        logging.getLogger("harness.transport").setLevel(logging.WARNING)
    if args.password is None and not args.authorized_keys:
        print("give --password and/or --authorized-keys: a server nobody can log in to is not useful",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        authorized = load_authorized_keys(args.authorized_keys) if args.authorized_keys else []
    except (OSError, ValueError) as exc:
        print(f"{args.authorized_keys}: {exc}", file=sys.stderr)
        return 2
    if args.host_key:
        keys = [load_private_key_file(path) for path in args.host_key]
    else:
        state_dir = Path(args.state_dir) if args.state_dir else default_state_dir()
        try:
            keys, created = load_or_create_host_keys(state_dir)
        except HostKeyStoreError as exc:
            print(f"harness serve: {exc}", file=sys.stderr)
            return 2
        made = f" (generated {', '.join(created)})" if created else ""
        print(f"host keys in {state_dir}{made}")
    username = args.user or getpass.getuser()
    login_user, warning = login_user_for(username)
    if warning:
        logging.getLogger("harness.serve").warning("%s", warning)
    config = ServeConfig(username=username, password=args.password, authorized_keys=authorized, cwd=args.cwd,
                         all_algorithms=args.all_algorithms, rekey_bytes=args.rekey_bytes, hardened=args.hardened,
                         login_user=login_user)  # fmt: skip
    if args.pcap:  # every connection writes a pcapng and key log (harness/capture)
        os.environ["HARNESS_PCAP_DIR"] = str(Path(args.pcap).resolve())
    listener = Listener(keys, config, host=args.listen, port=args.port, moduli=args.moduli).start()
    host, port = listener.address[0], listener.address[1]
    offer = "the hardened (ssh-audit-clean) offer" if args.hardened else "sshd's default offer"
    print(f"serving SSH on {host}:{port} for user {config.username} ({offer})")
    print("known_hosts lines for its host keys:")
    print("\n".join(known_hosts_lines(keys, host, port)), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    listener.close()
    return 0


def _run(args: argparse.Namespace) -> int:
    from harness.scenario.run import run

    return run(args)


def _report(args: argparse.Namespace) -> int:
    """`harness report merge DIR... --out DIR`: one report from the shards of a CI matrix."""
    from harness.scenario.report import MergeError, merge, write_reports

    try:
        results, seed = merge([Path(d) for d in args.dirs])
    except MergeError as exc:
        print(f"harness report merge: {exc}", file=sys.stderr)
        return 2
    paths = write_reports(results, Path(args.out), seed)
    print(f"merged {len(results)} results from {len(args.dirs)} shard(s): " + ", ".join(str(p) for p in paths))
    return 1 if any(r["status"] in ("fail", "error", "xpass") for r in results) else 0


def _fuzz(args: argparse.Namespace) -> int:
    if args.json and args.replay:
        from harness.fuzz.campaign import replay
        from harness.jsonout import emit_json

        def document() -> tuple[int, dict[str, object]]:
            results = replay([args.target] if args.target else None)
            rows = [{"target": r.path.parent.name, "path": str(r.path), "kind": r.kind, "ok": r.ok,
                     "open_regression": r.expected_failure,
                     "finding": None if r.finding is None else {"exception": r.finding.exception,
                                                                "location": r.finding.location}}
                    for r in results]  # fmt: skip
            bad = sum(not r.ok for r in results)
            return (1 if bad else 0), {"inputs": len(rows), "failing": bad, "results": rows}

        return emit_json(document)
    if args.json:
        print("harness fuzz: --json goes with --replay", file=sys.stderr)
        return 2
    if args.live or args.live_replay:
        from harness.fuzz.live import cli as live_cli

        return live_cli(args)
    from harness.fuzz.campaign import cli

    return cli(args)


def _bench(args: argparse.Namespace) -> int:
    from harness.benchmark.runner import run

    return run(args)


def _soak(args: argparse.Namespace) -> int:
    from harness.soak import cli

    return cli(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="harness", description="SSH interoperability test harness")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("interop", help="the conformance matrix: our client against every server peer")
    p.add_argument("--peer", action="append", help="peer id (repeatable; default: all; see `harness peers list`)")
    p.add_argument("--launcher", choices=("docker", "process"), help="default: docker if an engine answers")
    p.add_argument("--out", default="results", help="directory for interop.md and interop.json")
    p.add_argument("--no-bulk", action="store_true", help="skip the 64 MiB transfers")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout (progress to stderr)")
    p.add_argument("--pcap", metavar="DIR", help="write a pcapng and an SSH key log per connection to DIR")
    p.set_defaults(func=_interop)
    p = sub.add_parser("peers", help="list, build, start or clean up the real peers")
    p.add_argument("action", choices=("list", "build", "start", "stop"))
    p.add_argument("id", nargs="?", help="peer id for start")
    p.add_argument("--launcher", choices=("docker", "process"))
    p.set_defaults(func=_peers)
    p = sub.add_parser("record-transcripts", help="record replayable sessions against local sshd and Dropbear")
    p.add_argument("--out", default="corpus/transcripts", help="directory for the transcripts")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=_record)
    p = sub.add_parser("serve", help="run our SSH server (exec, shell, sftp, forwarding to loopback), sshd-like")
    p.add_argument("--listen", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=2222, help="port (0 = any free port; default 2222)")
    p.add_argument("--host-key", action="append", help="private host key file (repeatable; default: the state dir's)")
    p.add_argument("--state-dir", help="where host keys are kept across restarts, generated on first use "
                   "(default $XDG_STATE_HOME/ssh-harness or ~/.local/state/ssh-harness)")  # fmt: skip
    p.add_argument("--user", help="the user that may log in (default: the current user)")
    p.add_argument("--password", help="that user's password")
    p.add_argument("--authorized-keys", help="an authorized_keys file for that user")
    p.add_argument("--moduli", help="moduli file for diffie-hellman-group-exchange (default /etc/ssh/moduli)")
    p.add_argument("--cwd", help="working directory for commands and sftp (default: the user's home)")
    offer = p.add_mutually_exclusive_group()
    offer.add_argument("--all-algorithms", action="store_true", help="offer legacy algorithms too (interop testing)")
    offer.add_argument("--hardened", action="store_true", help="offer only what ssh-audit rates without "
                       "'fail' (sshd's default offer minus NIST ECDH and ECDSA host keys)")  # fmt: skip
    p.add_argument("--rekey-bytes", type=_positive_int, metavar="N",
                   help="start a key re-exchange after N bytes either way (tests a client's rekeying)")  # fmt: skip
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging (same as --log-level DEBUG)")
    p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                   help="log level on stderr (default INFO: connections, logins, channels, disconnects)")  # fmt: skip
    p.add_argument("--pcap", metavar="DIR", help="write a pcapng and an SSH key log per connection to DIR")
    p.set_defaults(func=_serve)
    p = sub.add_parser("run", help="the scenario matrix (scenarios x peers) with JSON, Markdown, HTML, JUnit reports")
    from harness.scenario.run import add_arguments as add_run_arguments

    add_run_arguments(p)
    p.set_defaults(func=_run)
    p = sub.add_parser("report", help="scenario reports: merge the results.json of several shards into one report")
    actions = p.add_subparsers(dest="action", required=True)
    merge = actions.add_parser("merge", help="join shards' results.json into JSON, Markdown, HTML and JUnit")
    merge.add_argument("dirs", nargs="+", metavar="DIR", help="a shard's --out directory (or its results.json)")
    merge.add_argument("--out", required=True, help="directory for the merged reports")
    p.set_defaults(func=_report)
    p = sub.add_parser("fuzz", help="run a fuzz campaign (atheris/libFuzzer), or replay seeds and regressions")
    from harness.fuzz.campaign import add_arguments

    add_arguments(p)
    p.add_argument("--json", action="store_true", help="with --replay: the results as JSON on stdout")
    live = p.add_argument_group("live-peer fuzzing (docs/FUZZING.md): mutate what we send to a real peer")
    live.add_argument("--live", metavar="PEER_ID", help="fuzz this container peer (openssh-9.2, ...): --time/--runs")
    live.add_argument("--seed", type=int, default=1, help="--live: run seed (iteration i uses seed:i)")
    live.add_argument("--live-replay", metavar="FINDING", help="re-send a live finding (results/live-fuzz/PEER/N)")
    p.set_defaults(func=_fuzz)
    p = sub.add_parser("bench", help="benchmarks: our client and server against paramiko, AsyncSSH and OpenSSH")
    from harness.benchmark.runner import add_arguments as bench_arguments

    bench_arguments(p)
    p.set_defaults(func=_bench)
    p = sub.add_parser("soak", help="long soak and fault runs (10 GiB, 1000 rekeys, 100 clients, fault proxy)")
    from harness.soak import add_arguments as soak_arguments

    soak_arguments(p)
    p.set_defaults(func=_soak)
    args = parser.parse_args(argv)
    return int(args.func(args))
