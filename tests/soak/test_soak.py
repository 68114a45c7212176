"""Short soak forms (the long ones run with `harness soak`): 1 GiB through one channel across
100 rekeys in both pairings, 20 concurrent clients against our server, and nothing left behind."""

from __future__ import annotations

import gc
import os
import tempfile
import threading
from pathlib import Path

import pytest

from harness import soak
from harness.peers.base import PeerInfo

pytestmark = [pytest.mark.peer, pytest.mark.slow]

TOTAL = soak.GiB
REKEYS = 100
CLIENTS = 20
# Our client must not buffer a transfer: peak RSS growth while 1 GiB passes stays below this.
RSS_LIMIT_MIB = 64


def test_our_client_to_sshd_1gib_100_rekeys(sshd: PeerInfo) -> None:
    result = soak.client_to_sshd(sshd, TOTAL, REKEYS)
    assert result["rss_growth_mib"] < RSS_LIMIT_MIB, result


def test_openssh_client_to_our_server_1gib_100_rekeys(tmp_path: Path) -> None:
    soak.ssh_to_our_server(tmp_path, TOTAL, REKEYS)


_RESULTS: dict[str, dict] = {}


def test_concurrent_clients_against_our_server(tmp_path: Path) -> None:
    result = soak.concurrent_clients(tmp_path, CLIENTS, payload_size=256 * 1024)
    _RESULTS["clients"] = result
    assert result["rss_growth_mib"] < RSS_LIMIT_MIB, result


def test_server_releases_descriptors_while_running() -> None:
    result = _RESULTS.get("clients")
    if result is None:
        pytest.skip("needs test_concurrent_clients_against_our_server in the same worker")
    assert result["fd_delta_listener_alive"] <= 0, result


def test_nothing_left_behind() -> None:
    """After the soak and fault runs of this worker: no SSH driver, proxy or server thread, no
    temp dir of ours, no SSH connection or fault proxy still open in this process."""
    names = [t.name for t in threading.enumerate() if t.is_alive()]
    ours = [n for n in names if n.endswith(("-reader", "-writer")) or n.startswith(("faultproxy", "serve-accept",
                                                                                     "soak-client"))]  # fmt: skip
    assert not ours, f"threads left behind: {ours}"
    tmp = Path(tempfile.gettempdir())
    mine = [p for p in tmp.glob("harness-soak-*") if p.stat().st_uid == os.getuid()]
    assert not mine, f"temp dirs left behind: {mine}"
    # Other tests in this worker legitimately keep sockets (session-scoped peers, the Docker
    # client), so count only ours: an SSH driver that is not closed, or a fault proxy still running.
    gc.collect()
    from harness.drivers.threaded import ThreadedDriver
    from harness.faultproxy import FaultProxy

    open_drivers = [o for o in gc.get_objects() if isinstance(o, ThreadedDriver) and not o.closed]
    assert not open_drivers, f"{len(open_drivers)} SSH connection(s) still open"
    running = [o for o in gc.get_objects() if isinstance(o, FaultProxy) and not o.stopping.is_set()]
    assert not running, f"{len(running)} fault proxies still running"
