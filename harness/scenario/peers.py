"""Peers for scenarios: server peers from the registry (reused per worker), client peers that
connect to a listener the scenario owns.

Server peers: one handle per peer id per process (pytest-xdist worker), started on first use
and restarted when a scenario killed it. Client peers (:mod:`harness.peers.client_peers`:
OpenSSH and dbclient of three releases each, plink, paramiko and AsyncSSH): each server-role
scenario listens on a fresh loopback port and runs the client against it; ``Connect`` accepts
that connection, and the server policy accepts the run's own client key and password, so a
scenario can go on past authentication. After the run, ``target.report()`` says how the
client ended (:class:`harness.peers.client_launch.ClientRunReport`).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

# -- server peers ---------------------------------------------------------------------------

# Options every instance of a peer gets. OpenSSH >= 9.8 penalises addresses that cause protocol
# errors (PerSourcePenalties): misbehaviour scenarios from 127.0.0.1 would get later connections
# refused, so scenario peers run with it off (the penalty itself is not under test here).
DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "openssh-10.0": {"extra_config": {"PerSourcePenalties": "no"}},
}


def _merge(peer_id: str, options: dict[str, Any]) -> dict[str, Any]:
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULT_OPTIONS.get(peer_id, {}).items()}
    for key, value in options.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key].update(value)
        else:
            merged[key] = value
    return merged


class PeerPool:
    def __init__(self, launcher: str) -> None:
        self.launcher = launcher
        self.handles: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self._tmp = Path(tempfile.mkdtemp(prefix="harness-scenario-peers-"))
        self.starts: dict[str, int] = {}

    def get(self, peer_id: str, options: dict[str, Any] | None = None) -> Any:
        """A running handle for ``peer_id`` (raises PeerError with the reason if it cannot start).

        ``options`` (launcher options such as extra_config) give a separate, dedicated instance."""
        from harness.peers.base import PeerError
        from harness.peers.registry import start_peer

        options = options or {}
        key = peer_id + (repr(sorted(options.items())) if options else "")
        handle = self.handles.get(key)
        if handle is not None and getattr(handle, "running", True):
            return handle
        if handle is not None:
            handle.stop()
        if key in self.errors and self.starts.get(key, 0) >= 2:
            raise PeerError(self.errors[key])
        self.starts[key] = self.starts.get(key, 0) + 1
        workdir = self._tmp / f"{peer_id}-{len(self.starts)}-{self.starts[key]}"
        try:
            handle = start_peer(peer_id, self.launcher, workdir, **_merge(peer_id, options))
        except Exception as exc:
            self.errors[key] = f"{peer_id} did not start: {exc}"
            raise PeerError(self.errors[key]) from exc
        self.handles[key] = handle
        return handle

    def stop_all(self) -> None:
        for handle in self.handles.values():
            try:
                handle.stop()
            except Exception:
                pass
        self.handles.clear()
        shutil.rmtree(self._tmp, ignore_errors=True)


# -- client peers: see harness/scenario/client_target.py --------------------------------------

from harness.scenario.client_target import (  # noqa: E402 - re-exported for the plugin
    ClientPeerInfo,
    ClientTarget,
    client_peer_ids,
    client_peer_info,
    server_host_key,
)

__all__ = ["DEFAULT_OPTIONS", "ClientPeerInfo", "ClientTarget", "PeerPool", "client_peer_ids",
           "client_peer_info", "server_host_key"]
