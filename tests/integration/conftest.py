"""Real peers for the integration tests.

``server`` is parametrized over the peer matrix: every server peer id (OpenSSH 8.4/9.2/10.0,
Dropbear 2020.81/2022.83/2025.89, tinysshd) through the Docker launcher, or the locally installed
releases through the process launcher when no engine runs (``--peer`` and ``--launcher`` select).
One server per peer per worker (session scope). ``openssh_server`` and ``dropbear_server`` are
the local-process servers for tests that need a specific configuration. A missing binary or
image is a failure with instructions, never a skip.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.peers.base import PeerError, PeerInfo
from harness.peers.process import start_dropbear_server, start_openssh_server
from harness.peers.registry import default_launcher, default_peer_ids, start_peer

LOCAL = {
    "openssh": (start_openssh_server, "/usr/sbin/sshd"),
    "dropbear": (start_dropbear_server, "/usr/sbin/dropbear"),
}


def _launcher(config: pytest.Config) -> str:
    chosen = config.getoption("--launcher")
    if chosen:
        return str(chosen)
    try:
        return default_launcher()
    except PeerError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "server" in metafunc.fixturenames:
        launcher = _launcher(metafunc.config)
        ids = metafunc.config.getoption("--peer") or default_peer_ids(launcher)
        metafunc.parametrize("server", ids, indirect=True, scope="session")


# Running peers by id, so a failing test's report can show the peer's log.
_HANDLES: dict[str, object] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, PeerInfo):
            handle = _HANDLES.get(value.peer_id)
            logs = handle.logs() if handle is not None else _read_log(value.log_path)  # type: ignore[attr-defined]
            report.sections.append((f"log of peer {value.peer_id}", logs[-6000:]))


def _read_log(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return "(no log)"


@pytest.fixture(scope="session")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerInfo]:
    launcher = _launcher(request.config)
    peer_id = request.param
    try:
        handle = start_peer(peer_id, launcher, tmp_path_factory.mktemp(peer_id))
    except PeerError as exc:
        pytest.fail(f"{peer_id} ({launcher} launcher) did not start: {exc}", pytrace=False)
    _HANDLES[peer_id] = handle
    try:
        yield handle.info
    finally:
        _HANDLES.pop(peer_id, None)
        handle.stop()


def _start_local(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerInfo]:
    starter, binary = LOCAL[kind]
    if not Path(binary).exists() and shutil.which(Path(binary).name) is None:
        pytest.fail(f"{binary} is not installed: run `make setup` (scripts/setup.sh installs it)")
    handle = starter(tmp_path_factory.mktemp(kind))
    try:
        yield handle.info
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def openssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerInfo]:
    yield from _start_local("openssh", tmp_path_factory)


@pytest.fixture(scope="session")
def dropbear_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerInfo]:
    yield from _start_local("dropbear", tmp_path_factory)


# -- the per-client table of the server-interop runs (issue: "the result is a table per client") ----

_LOCAL_CLIENTS = {
    "test_openssh_": "ssh (local)",
    "test_dbclient_": "dbclient (local)",
    "test_plink_": "plink",
    "test_paramiko_": "paramiko",
    "test_asyncssh_": "AsyncSSH",
    "test_our_client_": "harness client",
}
# client -> (check, outcome, rekeys, note); rekeys and note come from the test's
# record_property("rekeys" / "note", ...): re-exchanges our server saw during a bulk transfer,
# and how a check had to be run (e.g. a client setting it needed).
_CLIENT_ROWS: dict[str, list[tuple[str, str, str, str]]] = {}


def _client_of(nodeid: str) -> tuple[str, str] | None:
    """(client, check) for a server-interop test id, else None."""
    import re

    path, _, name = nodeid.partition("::")
    if path.endswith("test_container_clients.py"):
        match = re.search(r"(ssh-\d+\.\d+|dbclient-\d{4}\.\d+)", name)
        if match:
            return match.group(1), name.replace(f"-{match.group(1)}", "").replace(f"{match.group(1)}-", "")
    elif path.endswith("test_server_interop.py"):
        for prefix, client in _LOCAL_CLIENTS.items():
            if name.startswith(prefix):
                return client, name
    return None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and not report.passed):
        found = _client_of(report.nodeid)
        if found is not None:
            outcome = "xfail" if hasattr(report, "wasxfail") else report.outcome
            props = dict(report.user_properties)
            note = str(props.get("note", ""))
            if report.skipped and isinstance(report.longrepr, tuple) and not note:
                note = str(report.longrepr[2]).removeprefix("Skipped: ")  # why it does not apply
            note = " ".join(note.replace("|", "/").split())[:200]
            row = (found[1], outcome, str(props.get("rekeys", "")), note)
            _CLIENT_ROWS.setdefault(found[0], []).append(row)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write results/server-clients.md (controller only; never fails the run)."""
    if hasattr(session.config, "workerinput") or not _CLIENT_ROWS:
        return
    try:
        lines = ["# Our server driven by real clients", ""]
        for client in sorted(_CLIENT_ROWS):
            rows = sorted(_CLIENT_ROWS[client])
            counts = {o: sum(1 for _, r, _, _ in rows if r == o) for o in ("passed", "failed", "skipped", "xfail")}
            lines += [f"## {client}", "", f"{counts['passed']} passed, {counts['failed']} failed, "
                      f"{counts['skipped']} not applicable, {counts['xfail']} known deviations", "",
                      "| check | result | rekeys | note |", "|---|---|---|---|"]  # fmt: skip
            lines += [f"| `{check}` | {result} | {rekeys} | {note} |" for check, result, rekeys, note in rows]
            lines.append("")
        out = Path(session.config.rootpath) / "results"
        out.mkdir(exist_ok=True)
        (out / "server-clients.md").write_text("\n".join(lines))
    except OSError:
        pass
