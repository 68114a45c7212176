"""Command line: `harness interop`, `run`, `peers`, `serve`, `fuzz`, `bench`, `soak`.

`harness interop` runs our client against the real peers: for every peer and every algorithm we
implement it connects forcing that algorithm, runs a command and echoes data, and writes a
Markdown and a JSON report. It exits non-zero when anything deviates.

Every command shares one error handler (:func:`main`): a user error is one line
``harness: error: ...`` with exit status 2 (``-v`` adds the traceback); Ctrl-C and SIGTERM unwind
through every ``finally`` and atexit hook, so peer containers and key folders are removed, and
end without a traceback. ``-v``/``--log-level`` work before or after the command name.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sys
import time
import traceback
from pathlib import Path
from typing import NoReturn

from harness import __version__
from harness.cli_common import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    UserError,
    check_ids,
    install_signal_handlers,
    print_error,
    require_extra,
    split_ids,
    terminated,
)

LOG_LEVELS = ("debug", "info", "warning", "error")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``harness: error: <command>: <message>``, exit 2."""

    def error(self, message: str) -> NoReturn:
        where = self.prog.removeprefix("harness").strip()
        print_error(f"{where + ': ' if where else ''}{message} (see `{self.prog} --help`)")
        raise SystemExit(EXIT_USAGE)


def _port_number(text: str) -> int:
    """argparse type: a TCP port, 0 (any free port) to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535 (0 = any free port), not {value}")
    return value


# -- peer ids and launchers --------------------------------------------------------------------------


def _launcher(args: argparse.Namespace) -> tuple[str, str]:
    """(launcher, why): the one asked for, else docker when an engine answers, else process."""
    from harness.peers.docker import docker_available
    from harness.peers.registry import default_launcher

    if getattr(args, "launcher", None):
        return args.launcher, "asked for"
    launcher = default_launcher()
    return launcher, "" if launcher == "docker" else docker_available()[1]


def _check_server_peers(ids: list[str], launcher: str, why: str) -> None:
    """Unknown ids get a did-you-mean; with the process launcher, peers not installed are named
    with the reason Docker was not used (an unreachable engine is not "not installed")."""
    from harness.peers.registry import docker_peer_ids, local_versions, sanitizer_peer_ids
    from harness.peers.zoo import zoo_server_ids

    known = [*docker_peer_ids(), *sanitizer_peer_ids(), *zoo_server_ids()]
    check_ids(ids, known, "peer", "see `harness peers list`")
    if launcher == "process":
        local = list(local_versions().values())
        for peer_id in ids:
            if peer_id not in local:
                docker = "" if why == "asked for" else f"; Docker is not usable: {why}"
                raise UserError(f"{peer_id} is not installed locally (local servers: {', '.join(local) or 'none'})"
                                f"{docker}")  # fmt: skip


def _interop(args: argparse.Namespace) -> int:
    from harness.matrix import run_matrix
    from harness.peers.base import PeerError
    from harness.peers.registry import default_peer_ids
    from harness.peers.user_peers import chosen_server_ids, probe_targets, user_peers_from_args
    from harness.scenario.collect import builtin_peer_ids

    try:
        launcher, why = _launcher(args)
        user, _ = user_peers_from_args(args, builtin_peer_ids())  # --target, --peers-file (docs/TARGETS.md)
        _check_server_peers([p for p in args.peer if p not in user.servers], launcher, why)
        peers = chosen_server_ids(args, user)
        probe_targets(user, peers)
    except PeerError as exc:
        raise UserError(f"interop: {exc}") from exc
    peers = peers or default_peer_ids(launcher)
    if not peers:
        raise UserError(f"interop: no peers available with the {launcher} launcher ({why})")
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
    cells = run_matrix(peers, launcher, Path(args.out), bulk=not args.no_bulk, user_peers=user)
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
        from harness.peers.client_peers import client_image_or_binary
        from harness.peers.registry import client_entries, sanitizer_peer_ids

        rows = [(entry.peer_id, entry.role, entry.launchers, "") for entry in registry()]
        sanitizer_note = " (sanitizer build, for fuzz --live)"  # not in the default sets
        rows += [(peer_id, "server", ("docker",), sanitizer_note) for peer_id in sanitizer_peer_ids()]
        rows += [(e.peer_id, e.role, e.launchers, " (sanitizer build)") for e in client_entries(sanitizer=True)]

        from harness.peers.zoo import ZOO_CLIENTS, ZOO_SERVERS, capabilities

        def image_of(peer_id: str, role: str) -> tuple[bool | None, str | None]:
            if role == "client" and peer_id not in ZOO_CLIENTS:  # an image, or the local program of a client peer
                where = client_image_or_binary(peer_id)
                return not where.startswith("- "), where
            return peer_image_status(peer_id) if ok else (None, None)

        if args.json:
            peers = []
            for peer_id, role, launchers, note in rows:
                built, image = image_of(peer_id, role)
                peers.append({"id": peer_id, "role": role, "launchers": list(launchers), "image": image,
                              "image_built": built, "sanitizer": bool(note)})  # fmt: skip
                if peer_id in ZOO_SERVERS or peer_id in ZOO_CLIENTS:  # opt-in peer zoo: what it supports
                    peers[-1]["zoo"] = capabilities(peer_id)
            print(json.dumps({"docker": {"available": ok, "detail": reason}, "peers": peers}, indent=2))
            return 0
        print(f"docker engine: {'yes' if ok else 'no'} ({reason})")
        print(f"{'id':22} {'role':7} {'launchers':16} image")
        for peer_id, role, launchers, note in rows:
            image = image_of(peer_id, role)[1] or "-"
            if peer_id in ZOO_SERVERS or peer_id in ZOO_CLIENTS:  # opt-in peer zoo: what it supports
                note = f" (zoo: {capabilities(peer_id)})"
            print(f"{peer_id:22} {role:7} {','.join(launchers):16} {image}{note}")
        return 0
    if args.action == "doc":
        from harness.resources import data_root, scenarios_dir
        from harness.scenario import peers_doc

        if not args.write:
            print(peers_doc.section(scenarios_dir()), end="")
            return 0
        doc = data_root() / "docs" / "PEERS.md"
        if not doc.is_file():
            raise UserError(f"peers doc --write: no {doc} (it lives in a checkout of the repository)")
        changed = peers_doc.write(doc, scenarios_dir())
        print(f"{doc}: {'rewritten' if changed else 'already current'}")
        return 0
    if args.action == "build":
        from harness.resources import data_path

        script = data_path("containers", "bootstrap.sh")
        if not script.is_file():
            raise UserError(f"peers build: {script} is missing (a wheel built without its container recipes?)")
        return subprocess.call(["bash", str(script)])
    ids = split_ids([args.id] if args.id else [])
    if args.action == "stop":
        from harness.peers.docker import cleanup_stale_containers, docker_available, stop_peer_containers

        ok, reason = docker_available()
        if not ok:
            raise UserError(f"peers stop: {reason}")
        if ids:
            _check_server_peers(ids, "docker", "")
            for peer_id in ids:
                removed = stop_peer_containers(peer_id)
                print(f"{peer_id}: stopped {len(removed)} container(s)")
            return 0
        removed = cleanup_stale_containers()
        print(f"removed {len(removed)} leftover peer container(s)")
        return 0
    if len(ids) != 1:
        raise UserError("peers start: give one peer id (see `harness peers list`)")
    launcher, why = _launcher(args)
    _check_server_peers(ids, launcher, why)
    from harness.peers.docker import STARTED_BY_PEERS_START

    handle = start_peer(ids[0], launcher, **({"labels": STARTED_BY_PEERS_START} if launcher == "docker" else {}))
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

    # A server logs at INFO by default (connections, logins, channels, disconnects); -v or more
    # (or --log-level debug) gives debug.
    level = logging.DEBUG if args.verbose else getattr(logging, (args.log_level or "info").upper())
    root = logging.getLogger()
    root.setLevel(level)
    for handler in root.handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
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
        keys = [_load_host_key(path, args.host_key_passphrase) for path in args.host_key]
    else:
        state_dir = Path(args.state_dir) if args.state_dir else default_state_dir()
        try:
            keys, created = load_or_create_host_keys(state_dir)
        except HostKeyStoreError as exc:
            raise UserError(f"serve: {exc}") from exc
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
    keep_ignoring_hangups_but_not_in_programs()  # before the first connection can run a program
    try:
        listener = Listener(keys, config, host=args.listen, port=args.port, moduli=args.moduli).start()
    except OSError as exc:
        hint = "; --port 0 picks a free port" if exc.errno == errno.EADDRINUSE else ""
        raise UserError(f"serve: cannot listen on {args.listen}:{args.port}: {exc.strerror or exc}{hint}") from exc
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


def keep_ignoring_hangups_but_not_in_programs() -> None:
    """Under ``nohup`` (SIGHUP ignored), ignore it with a handler instead of SIG_IGN.

    Why: an ignored signal stays ignored across fork and exec, so every program a client runs
    would ignore the SIGHUP with which the server hangs up a session that ended (its SIGKILL
    comes only after the grace period, and never when the server itself is stopping). A caught
    signal is reset to its default by exec: the server still survives the terminal's hang-up,
    and the programs die of the server's.
    """
    import signal

    if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN:
        signal.signal(signal.SIGHUP, lambda *_: None)


def _load_host_key(path: str, passphrase: str | None) -> object:
    """A host key file, or one line saying why not (missing, encrypted, wrong passphrase, corrupt)."""
    from harness.ssh.errors import SSHException
    from harness.ssh.keys import load_private_key_file
    from harness.ssh.keys.private import PasswordRequiredException

    try:
        return load_private_key_file(path, passphrase)
    except OSError as exc:
        raise UserError(f"serve: host key {path}: {exc.strerror or exc}") from exc
    except (SSHException, ValueError) as exc:
        text = str(exc).removeprefix(f"{path}: ")  # the keys layer names the file already
        hint = "; give --host-key-passphrase" if isinstance(exc, PasswordRequiredException) and not passphrase else ""
        raise UserError(f"serve: host key {path}: {text}{hint}") from exc


def _run(args: argparse.Namespace) -> int:
    from harness.scenario.run import run

    require_extra("pytest", "scenarios", "`harness run`")
    require_extra("xdist", "scenarios", "`harness run`")
    from harness.peers.base import PeerError
    from harness.peers.user_peers import user_peers_from_args
    from harness.scenario.collect import builtin_client_ids, builtin_peer_ids

    try:  # the user's own peers (--target, --client-command, peers.toml) are no typos
        user, _ = user_peers_from_args(args, builtin_peer_ids())
    except (PeerError, ValueError) as exc:
        raise UserError(f"run: {exc}") from exc
    servers = [p for p in args.peer if p not in user.servers]
    if servers:
        launcher, why = _launcher(args)
        _check_server_peers(servers, launcher, why)
    clients = [c for c in args.client_peer if c not in user.clients]
    if clients:
        check_ids(clients, builtin_client_ids(), "client peer", "see `harness peers list`")
    code = run(args)
    if code == 5:  # pytest's "no tests collected"
        chosen = f" matched -k {args.keyword!r}" if args.keyword else " were selected"
        raise UserError(f"run: no scenarios{chosen} (-k matches scenario and peer names, e.g. -k kex)")
    return code


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
    from harness.fuzz.campaign import parse_duration

    if args.time:
        try:
            parse_duration(args.time)
        except ValueError as exc:
            raise UserError(f"fuzz: --time: {exc}") from exc
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

        if args.live and "://" not in args.live and not Path("peers.toml").is_file():
            _check_server_peers([args.live], "docker", "")  # a target URL or a peers.toml name is the user's
        return live_cli(args)
    from harness.fuzz import TARGETS
    from harness.fuzz.campaign import cli

    if args.target is not None and args.target not in TARGETS:
        check_ids([args.target], list(TARGETS), "fuzz target", "see `harness fuzz --list`")
    if args.replay:
        from harness.fuzz.campaign import CORPUS, REGRESSIONS, regressions, seeds

        targets = [args.target] if args.target else list(TARGETS)
        if not any(seeds(t) or regressions(t) for t in targets):
            raise UserError(f"fuzz --replay: nothing to replay for {', '.join(targets)} under {CORPUS} "
                            f"or {REGRESSIONS}")  # fmt: skip
    elif not (args.list or args.seeds):
        if args.target is None:
            raise UserError(f"fuzz: choose a target: {', '.join(TARGETS)} (or --list, --replay, --live PEER)")
        require_extra("atheris", "fuzz", "a fuzz campaign")
    return cli(args)


def _bench(args: argparse.Namespace) -> int:
    from harness.benchmark.runner import run

    require_extra("paramiko", "bench", "`harness bench`")
    require_extra("asyncssh", "bench", "`harness bench`")
    return run(args)


def _soak(args: argparse.Namespace) -> int:
    from harness.soak import cli

    require_extra("paramiko", "bench", "`harness soak`")
    return cli(args)


def _common_options(parser: argparse.ArgumentParser, top: bool) -> None:
    """-v and --log-level, accepted before and after the command name (the sub-command's copy
    has no default, so it never overwrites what was given before the name)."""
    suppress = {} if top else {"default": argparse.SUPPRESS}
    parser.add_argument("-v", "--verbose", action="count", help="more output: -v info, -vv debug; tracebacks on errors",
                        **({"default": 0} if top else suppress))  # fmt: skip
    parser.add_argument("--log-level", choices=LOG_LEVELS, help="log level (default warning)",
                        **({"default": None} if top else suppress))  # fmt: skip


def _configure_logging(args: argparse.Namespace) -> None:
    level = args.log_level or {0: "warning", 1: "info"}.get(args.verbose, "debug")
    logging.basicConfig(level=level.upper(), format="harness: %(levelname)s: %(name)s: %(message)s")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line (kept apart from :func:`main` so tests and docs can inspect it)."""
    parser = _Parser(prog="harness", description="SSH interoperability test harness")
    parser.add_argument("--version", action="version", version=f"harness (ssh-harness) {__version__}")
    _common_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("interop", help="the conformance matrix: our client against every server peer")
    p.add_argument("--peer", action="append", default=[],
                   help="peer id, peers.toml server, or a group: default, zoo, all (repeatable)")  # fmt: skip
    p.add_argument("--launcher", choices=("docker", "process"), help="default: docker if an engine answers")
    p.add_argument("--out", default="results", help="directory for interop.md and interop.json")
    p.add_argument("--no-bulk", action="store_true", help="skip the 64 MiB transfers")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout (progress to stderr)")
    p.add_argument("--pcap", metavar="DIR", help="write a pcapng and an SSH key log per connection to DIR")

    from harness.peers.user_peers import add_user_peer_arguments

    add_user_peer_arguments(p, clients=False)
    p.set_defaults(func=_interop)
    p = sub.add_parser("peers", help="list, build, start or clean up the real peers; doc: their conformance")
    p.add_argument("action", choices=("list", "build", "start", "stop", "doc"))
    p.add_argument("--write", action="store_true",
                   help="doc: rewrite the generated section of docs/PEERS.md (default: print it)")  # fmt: skip
    p.add_argument("id", nargs="?", help="peer id: start it; stop its containers (stop without ID: leftovers)")
    p.add_argument("--launcher", choices=("docker", "process"))
    p.add_argument("--json", action="store_true", help="list: machine-readable output")
    p.set_defaults(func=_peers)
    p = sub.add_parser("record-transcripts", help="record replayable sessions against local sshd and Dropbear")
    p.add_argument("--out", default="corpus/transcripts", help="directory for the transcripts")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=_record)
    p = sub.add_parser("serve", help="run our SSH server (exec, shell, sftp, forwarding to loopback), sshd-like")
    p.add_argument("--listen", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_port_number, default=2222, help="port (0 = any free port; default 2222)")
    p.add_argument("--host-key", action="append", help="private host key file (repeatable; default: the state dir's)")
    p.add_argument("--host-key-passphrase", help="passphrase of encrypted --host-key files")
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
    live.add_argument("--identity", metavar="FILE", action="append", default=[],
                      help="--live ssh://...: private key to log in with (repeatable: one per key type)")  # fmt: skip
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
    for command in sub.choices.values():
        _common_options(command, top=False)
    return parser


def _one_line(exc: BaseException) -> str:
    """An environment or input error as the user should read it."""
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return f"{exc.strerror or exc}; --port 0 picks a free port"
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc) or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Run one command; user errors are one line and exit 2, interrupts clean up and exit 130/143.

    Called with ``argv`` (in-process, e.g. by a test) it restores the caller's signal handlers on
    return; as the program (``argv`` None) it keeps them, so a second SIGTERM cannot cut short the
    atexit clean-up that runs after it returns.
    """
    restore_signals = install_signal_handlers()
    try:
        return _main(argv)
    finally:
        if argv is not None:
            restore_signals()


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args)
    from harness.peers.groups import expand

    for name in ("peer", "client_peer"):  # --peer a,b is the same as --peer a --peer b; absent: []
        if name in vars(args):  # and a group (zoo, all, default) is its members
            setattr(args, name, expand(split_ids(getattr(args, name)), "server" if name == "peer" else "client"))
    from harness.ssh.errors import SSHException

    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print(f"harness: {'terminated' if terminated() else 'interrupted'}; cleaned up", file=sys.stderr)
        return EXIT_TERMINATED if terminated() else EXIT_INTERRUPTED
    except (UserError, SSHException, OSError) as exc:
        if args.verbose:
            traceback.print_exc()
        text = _one_line(exc)
        print_error(text.splitlines()[0] if isinstance(exc, UserError) else text)
        return EXIT_USAGE
