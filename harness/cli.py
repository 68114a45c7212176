"""Command line: `harness interop` runs our client against the default real peers.

The interop run is the product's main job until the scenario engine lands: for every peer and
every algorithm we implement it connects forcing that algorithm, runs a command and echoes
data, and writes a Markdown and a JSON report. It exits non-zero when anything deviates.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path


def _interop(args: argparse.Namespace) -> int:
    from harness.crypto_names import ALGORITHM_CATEGORIES
    from harness.interop import check_algorithm, peer_offers
    from harness.peers.process import start_dropbear_server, start_openssh_server

    starters = {"openssh": start_openssh_server, "dropbear": start_dropbear_server}
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, object]] = []
    failures = 0
    with tempfile.TemporaryDirectory(prefix="harness-interop-") as tmp:
        for kind in args.peer or list(starters):
            if kind not in starters:
                print(f"unknown peer {kind!r}; choose from {sorted(starters)}", file=sys.stderr)
                return 2
            server = starters[kind](Path(tmp) / kind)
            info = server.info
            print(f"== {info.peer_id} ({info.banner}) on {info.host}:{info.port}")
            try:
                for category, algorithms in ALGORITHM_CATEGORIES.items():
                    for alg in algorithms:
                        row: dict[str, object] = {"peer": info.peer_id, "category": category, "algorithm": alg}
                        if not peer_offers(info, category, alg):
                            row["result"] = "not offered"
                        else:
                            start = time.monotonic()
                            try:
                                check_algorithm(info, category, alg)
                                row["result"] = "pass"
                            except Exception as exc:
                                failures += 1
                                row["result"] = "FAIL"
                                row["error"] = f"{type(exc).__name__}: {exc}"
                                row["traceback"] = traceback.format_exc()
                            row["seconds"] = round(time.monotonic() - start, 3)
                        results.append(row)
                        mark = {"pass": "ok", "FAIL": "FAIL", "not offered": "--"}[str(row["result"])]
                        print(f"  {mark:4} {category:12} {alg}" + (f"  ({row['error']})" if "error" in row else ""))
            finally:
                server.stop()
    (out_dir / "interop.json").write_text(json.dumps(results, indent=2))
    (out_dir / "interop.md").write_text(_markdown(results))
    print(f"\nwrote {out_dir / 'interop.md'} and {out_dir / 'interop.json'}; {failures} failure(s)")
    return 1 if failures else 0


def _markdown(results: list[dict[str, object]]) -> str:
    peers = sorted({str(r["peer"]) for r in results})
    lines = ["# Client interop matrix", "", "| category | algorithm | " + " | ".join(peers) + " |",
             "|---|---|" + "---|" * len(peers)]  # fmt: skip
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for r in results:
        cells.setdefault((str(r["category"]), str(r["algorithm"])), {})[str(r["peer"])] = str(r["result"])
    for (cat, alg), by_peer in cells.items():
        lines.append(f"| {cat} | `{alg}` | " + " | ".join(by_peer.get(p, "") for p in peers) + " |")
    fails = [r for r in results if r["result"] == "FAIL"]
    if fails:
        lines += ["", "## Failures", ""]
        lines += [f"- {r['peer']} {r['category']} `{r['algorithm']}`: {r['error']}" for r in fails]
    return "\n".join(lines) + "\n"


def _record(args: argparse.Namespace) -> int:
    from harness.transcript import record_matrix

    paths = record_matrix(Path(args.out), seed=args.seed)
    print(f"recorded {len(paths)} transcripts under {args.out}")
    return 0


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
                         cwd=args.cwd, all_algorithms=args.all_algorithms)  # fmt: skip
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="harness", description="SSH interoperability test harness")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("interop", help="run our client against the default real peers, every algorithm")
    p.add_argument("--peer", action="append", help="openssh or dropbear (repeatable; default: both)")
    p.add_argument("--out", default="results", help="directory for interop.md and interop.json")
    p.set_defaults(func=_interop)
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
    p.set_defaults(func=_serve)
    args = parser.parse_args(argv)
    return int(args.func(args))
