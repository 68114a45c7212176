"""Command line: `harness interop` runs our client against the default real peers.

The interop run is the product's main job until the scenario engine lands: for every peer and
every algorithm we implement it connects forcing that algorithm, runs a command and echoes
data, and writes a Markdown and a JSON report. It exits non-zero when anything deviates.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _interop(args: argparse.Namespace) -> int:
    from harness.matrix import run_matrix
    from harness.peers.base import PeerError
    from harness.peers.registry import default_launcher, default_peer_ids
    from harness.peers.user_peers import chosen_server_ids, probe_targets, user_peers_from_args
    from harness.scenario.collect import builtin_peer_ids

    try:
        user, _ = user_peers_from_args(args, builtin_peer_ids())  # --target, --peers-file (docs/TARGETS.md)
        peers = chosen_server_ids(args, user)
        probe_targets(user, peers)
        launcher = args.launcher or default_launcher()
    except PeerError as exc:
        print(f"harness interop: {exc}", file=sys.stderr)
        return 2
    peers = peers or default_peer_ids(launcher)
    if not peers:
        print(f"harness interop: no peers available with the {launcher} launcher", file=sys.stderr)
        return 2
    started = time.monotonic()
    cells = run_matrix(peers, launcher, Path(args.out), bulk=not args.no_bulk, user_peers=user)
    fails = sum(c.result == "FAIL" for c in cells)
    passes = sum(c.result == "pass" for c in cells)
    print(f"\n{passes} pass, {fails} FAIL, {len(cells) - passes - fails} n/a across {len(peers)} peer(s) "
          f"in {time.monotonic() - started:.0f} s; wrote {args.out}/interop.md and interop.json")
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
    import signal
    import threading

    from harness.serve import Listener, ServeConfig, load_authorized_keys
    from harness.ssh.keys import ECDSAKey, Ed25519Key, RSAKey, load_private_key_file

    if args.host_key:
        keys = [load_private_key_file(path) for path in args.host_key]
    else:
        keys = [Ed25519Key.generate(), RSAKey.generate(3072)]
        if args.all_algorithms:
            keys.append(ECDSAKey.generate(256))
        print("generated ephemeral host keys: " + ", ".join(f"{k.get_name()} {k.fingerprint_sha256()}" for k in keys))
    if args.password is None and not args.authorized_keys:
        print("give --password and/or --authorized-keys: a server nobody can log in to is not useful",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        authorized = load_authorized_keys(args.authorized_keys) if args.authorized_keys else []
    except (OSError, ValueError) as exc:
        print(f"{args.authorized_keys}: {exc}", file=sys.stderr)
        return 2
    config = ServeConfig(username=args.user or getpass.getuser(), password=args.password, authorized_keys=authorized,
                         cwd=args.cwd, all_algorithms=args.all_algorithms,
                         rekey_bytes=args.rekey_bytes)  # fmt: skip
    listener = Listener(keys, config, host=args.listen, port=args.port, moduli=args.moduli).start()
    print(f"serving SSH on {listener.address[0]}:{listener.address[1]} for user {config.username}", flush=True)
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


def _fuzz(args: argparse.Namespace) -> int:
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
    p.add_argument("--peer", action="append", default=[],
                   help="peer id or peers.toml server (repeatable; default: all; `harness peers list`)")  # fmt: skip
    p.add_argument("--launcher", choices=("docker", "process"), help="default: docker if an engine answers")
    p.add_argument("--out", default="results", help="directory for interop.md and interop.json")
    p.add_argument("--no-bulk", action="store_true", help="skip the 64 MiB transfers")
    from harness.peers.user_peers import add_user_peer_arguments

    add_user_peer_arguments(p, clients=False)
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
    p = sub.add_parser("serve", help="run our SSH server (exec, shell, sftp, forwarding to loopback)")
    p.add_argument("--listen", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=2222, help="port (0 = any free port; default 2222)")
    p.add_argument("--host-key", action="append", help="private host key file (repeatable; default: generated)")
    p.add_argument("--user", help="the user that may log in (default: the current user)")
    p.add_argument("--password", help="that user's password")
    p.add_argument("--authorized-keys", help="an authorized_keys file for that user")
    p.add_argument("--moduli", help="moduli file for diffie-hellman-group-exchange (default /etc/ssh/moduli)")
    p.add_argument("--cwd", help="working directory for commands and sftp")
    p.add_argument("--all-algorithms", action="store_true", help="offer legacy algorithms too (interop testing)")
    p.add_argument("--rekey-bytes", type=_positive_int, metavar="N",
                   help="start a key re-exchange after N bytes either way (tests a client's rekeying)")  # fmt: skip
    p.set_defaults(func=_serve)
    p = sub.add_parser("run", help="the scenario matrix (scenarios x peers) with JSON, Markdown, HTML, JUnit reports")
    from harness.scenario.run import add_arguments as add_run_arguments

    add_run_arguments(p)
    p.set_defaults(func=_run)
    p = sub.add_parser("fuzz", help="run a fuzz campaign (atheris/libFuzzer), or replay seeds and regressions")
    from harness.fuzz.campaign import add_arguments

    add_arguments(p)
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
