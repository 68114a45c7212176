"""The conformance matrix behind `harness interop`: our client against every server peer.

For each peer (Docker launcher: OpenSSH 8.4/9.2/10.0, Dropbear 2020.81/2022.83/2025.89,
tinysshd; process launcher: the locally installed releases) and each algorithm we implement,
connect forcing it, check command output, stderr, exit status and an echoed transfer; then per
peer: password login, public key login with every key type, and 64 MiB each way across a forced
rekey. Every cell is pass, FAIL (with the error) or n/a (with the reason).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.crypto_names import ALGORITHM_CATEGORIES
from harness.interop import check_algorithm, connect, echo_transfer, not_applicable, run
from harness.peers.base import PeerError, PeerInfo
from harness.peers.registry import CLIENT_KEY_TYPES, info_supports_password, product_of, start_peer

BULK_BYTES = 64 << 20


@dataclass
class Cell:
    peer: str
    category: str
    item: str
    result: str  # "pass", "FAIL", "n/a"
    detail: str = ""
    seconds: float = 0.0


def _check(cells: list[Cell], peer: str, category: str, item: str, fn: Callable[[], None],
           na: str | None, progress: Callable[[Cell], None]) -> None:  # fmt: skip
    if na:
        cell = Cell(peer, category, item, "n/a", na)
    else:
        start = time.monotonic()
        try:
            fn()
            cell = Cell(peer, category, item, "pass")
        except Exception as exc:
            cell = Cell(peer, category, item, "FAIL", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        cell.seconds = round(time.monotonic() - start, 3)
    cells.append(cell)
    progress(cell)


def _publickey(info: PeerInfo, key: str) -> None:
    t = connect(info, auth="publickey", key_name=key)
    try:
        assert run(t, "echo $USER")[0].strip() == info.username.encode()
    finally:
        t.close()


def _password(info: PeerInfo) -> None:
    t = connect(info, auth="password")
    t.close()


def _bulk(info: PeerInfo) -> None:
    t = connect(info)
    try:
        echo_transfer(t, BULK_BYTES, rekey_at=BULK_BYTES // 4, timeout=300)
    finally:
        t.close()


def run_peer(info: PeerInfo, progress: Callable[[Cell], None], bulk: bool = True,
             logs: Callable[[], str] | None = None) -> list[Cell]:  # fmt: skip
    cells: list[Cell] = []
    pid = info.peer_id
    for category, algorithms in ALGORITHM_CATEGORIES.items():
        for alg in algorithms:
            _check(cells, pid, category, alg, lambda c=category, a=alg: check_algorithm(info, c, a),
                   not_applicable(info, category, alg), progress)  # fmt: skip
    _check(cells, pid, "auth", "password", lambda: _password(info),
           None if info_supports_password(info) else f"{pid} has no password authentication", progress)  # fmt: skip
    # A user's own server accepts the keys it was given (--identity), whatever its product.
    accepted = tuple(info.client_keys) if info.extra.get("external") else CLIENT_KEY_TYPES.get(product_of(info), ())
    for key in ("ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa", "rsa-pem", "ed25519-encrypted"):
        _check(cells, pid, "auth", f"publickey {key}", lambda k=key: _publickey(info, k),
               None if key in accepted else f"{pid} does not accept {key} user keys", progress)  # fmt: skip
    if bulk:
        _check(cells, pid, "transfer", "64 MiB each way across rekey", lambda: _bulk(info), None, progress)
    if logs is not None and any(c.result == "FAIL" for c in cells):
        tail = logs()[-4000:]
        for cell in cells:
            if cell.result == "FAIL":
                cell.detail += f"\n--- log of peer {pid} (tail) ---\n{tail}"
    return cells


def run_matrix(peer_ids: list[str], launcher: str, out_dir: Path, bulk: bool = True,
               stream=sys.stdout, user_peers: Any = None) -> list[Cell]:  # type: ignore[no-untyped-def]  # fmt: skip
    """``user_peers`` (harness.peers.user_peers.UserPeers) starts or probes the user's own servers."""
    cells: list[Cell] = []

    def progress(cell: Cell) -> None:
        mark = {"pass": "ok  ", "FAIL": "FAIL", "n/a": "--  "}[cell.result]
        first = cell.detail.splitlines()[0] if cell.result == "FAIL" and cell.detail else ""
        print(f"  {mark} {cell.category:12} {cell.item}" + (f"   {first}" if first else ""), file=stream, flush=True)

    with tempfile.TemporaryDirectory(prefix="harness-matrix-") as tmp:
        for peer_id in peer_ids:
            print(f"== {peer_id} ({launcher})", file=stream, flush=True)
            try:
                if user_peers is not None and peer_id in user_peers.servers:
                    handle = user_peers.server_handle(peer_id)
                else:
                    handle = start_peer(peer_id, launcher, Path(tmp) / peer_id)
            except (PeerError, ValueError) as exc:
                cell = Cell(peer_id, "peer", "start", "FAIL", str(exc))
                cells.append(cell)
                progress(cell)
                continue
            try:
                print(f"   {handle.info.banner} on {handle.info.host}:{handle.info.port}", file=stream, flush=True)
                cells += run_peer(handle.info, progress, bulk, handle.logs)
            finally:
                handle.stop()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "interop.json").write_text(json.dumps([asdict(c) for c in cells], indent=1) + "\n")
    (out_dir / "interop.md").write_text(markdown(cells))
    (out_dir / "interop-junit.xml").write_text(junit(cells))
    return cells


def junit(cells: list[Cell]) -> str:
    """JUnit XML of the interop cells (one <testsuite> per peer), so CI shows this half of
    ``make conformance`` beside the scenarios' junit.xml; messages are the first line only."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites")
    for peer in dict.fromkeys(c.peer for c in cells):
        mine = [c for c in cells if c.peer == peer]
        suite = ET.SubElement(root, "testsuite", name=f"interop.{peer}", tests=str(len(mine)),
                              failures=str(sum(c.result == "FAIL" for c in mine)),
                              skipped=str(sum(c.result == "n/a" for c in mine)),
                              time=f"{sum(c.seconds for c in mine):.3f}")  # fmt: skip
        for c in mine:
            case = ET.SubElement(suite, "testcase", classname=f"interop.{peer}.{c.category}", name=c.item,
                                 time=f"{c.seconds:.3f}")  # fmt: skip
            first = next((line for line in c.detail.splitlines() if line.strip()), "")[:300]
            if c.result == "FAIL":
                ET.SubElement(case, "failure", message=first or "FAIL").text = c.detail
            elif c.result == "n/a":
                ET.SubElement(case, "skipped", message=first or "n/a")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def markdown(cells: list[Cell]) -> str:
    peers = list(dict.fromkeys(c.peer for c in cells))
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for c in cells:
        rows.setdefault((c.category, c.item), {})[c.peer] = {"pass": "pass", "FAIL": "**FAIL**", "n/a": "n/a"}[c.result]
    lines = ["# Client conformance matrix", "",
             "`pass`: works; **FAIL**: deviation (see below); `n/a`: not applicable (the peer does not offer it).", "",
             "| category | item | " + " | ".join(peers) + " |", "|---|---|" + "---|" * len(peers)]  # fmt: skip
    for (cat, item), by_peer in rows.items():
        lines.append(f"| {cat} | `{item}` | " + " | ".join(by_peer.get(p, "") for p in peers) + " |")
    fails = [c for c in cells if c.result == "FAIL"]
    totals = {r: sum(c.result == r for c in cells) for r in ("pass", "FAIL", "n/a")}
    lines += ["", f"{totals['pass']} pass, {totals['FAIL']} FAIL, {totals['n/a']} not applicable.", ""]
    if fails:
        lines += ["## Failures", ""]
        lines += [f"- {c.peer} {c.category} `{c.item}`: {c.detail.splitlines()[0] if c.detail else ''}" for c in fails]
    return "\n".join(lines) + "\n"
