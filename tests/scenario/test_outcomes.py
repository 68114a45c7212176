"""The observed outcome of a cell, pins, and knowing the closer: against our own server over
loopback (a real peer of ours) and a raw socket peer that sends garbage."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.scenario import (
    Alive,
    Expect,
    ExpectClose,
    Handshake,
    Login,
    Observe,
    OneOf,
    Scenario,
    Send,
    SendRaw,
    StartKex,
    UnknownMessage,
    WaitKex,
    m,
)
from harness.scenario.execute import ERROR, FAIL, PASS, run_one
from harness.scenario.outcome import matches_pin, printable
from harness.scenario.pins import PinFile, update
from harness.scenario.steps import Connect


def _scenario(sid: str, **kwargs) -> Scenario:  # type: ignore[no-untyped-def]
    sc = Scenario(**kwargs)
    sc.id = sid
    return sc


def _run(server: SimpleNamespace, steps: list, pinned=None, **kwargs):  # type: ignore[no-untyped-def]
    sc = _scenario("t/x", timeout=2.0, steps=steps, **kwargs)
    return run_one(sc, "t/x", {}, server, 7, None, pinned=pinned, pin_source="pins/local.toml")


def test_a_clean_run_continued(server: SimpleNamespace) -> None:
    result = _run(server, [Login(), Alive()])
    assert (result.status, result.outcome, result.verdict) == (PASS, "continued", "conforms")


def test_a_disconnect_is_the_outcome_with_code_and_text(server: SimpleNamespace) -> None:
    # CHANNEL_OPEN before authentication: our server refuses it with a DISCONNECT.
    steps = [Handshake(), Expect(m.ServiceAccept),
             Send(m.ChannelOpen(channel_type="session", sender=0, initial_window=1024, max_packet=1024, data=b"")),
             ExpectClose()]  # fmt: skip
    result = _run(server, steps)
    assert result.status == PASS, result.message
    assert result.outcome.startswith("DISCONNECT PROTOCOL_ERROR(2) \""), result.outcome


def test_a_failed_expectation_records_what_the_peer_did(server: SimpleNamespace) -> None:
    steps = [Login(), Send(UnknownMessage(200, b"")), Expect(m.RequestFailure)]
    result = _run(server, steps)
    assert result.status == FAIL
    assert result.outcome == "UNIMPLEMENTED (seq ours)", result.outcome


def test_silence_is_an_outcome(server: SimpleNamespace) -> None:
    result = _run(server, [Login(), Send(m.Ignore(data=b"x")), Observe(0.3)], informational=True)
    assert (result.status, result.outcome, result.verdict) == (PASS, "silent 0.3 s", "informational")


def test_one_of_records_branch_and_outcome(server: SimpleNamespace) -> None:
    steps = [Login(), Send(UnknownMessage(200, b"")),
             OneOf(unimplemented=[Expect(m.Unimplemented)], disconnect=[ExpectClose()])]  # fmt: skip
    result = _run(server, steps)
    assert (result.branch, result.outcome) == ("unimplemented", "UNIMPLEMENTED (seq ours)")


def test_a_changed_pin_fails_with_was_and_now(server: SimpleNamespace) -> None:
    result = _run(server, [Login()], pinned="DISCONNECT PROTOCOL_ERROR(2) \"x\"")
    assert result.status == FAIL
    assert 'outcome changed: was DISCONNECT PROTOCOL_ERROR(2) "x", now continued' in result.message
    assert "pins/local.toml" in result.message
    same = _run(server, [Login()], pinned="continued")
    assert (same.status, same.pin) == (PASS, "continued")


def test_alternative_pins_and_long_numbers() -> None:
    assert matches_pin("reset", ["DISCONNECT BY_APPLICATION(11) \"bye\"", "reset"])
    assert matches_pin("reset", "closed without DISCONNECT")  # which of the two is the kernel's timing
    assert not matches_pin("reset", 'DISCONNECT PROTOCOL_ERROR(2) "x"')
    assert matches_pin('DISCONNECT PROTOCOL_ERROR(2) "Bad packet length 123456."',
                       'DISCONNECT PROTOCOL_ERROR(2) "Bad packet length 98765."')  # fmt: skip
    assert not matches_pin('DISCONNECT PROTOCOL_ERROR(2) "type 30"', 'DISCONNECT PROTOCOL_ERROR(2) "type 31"')
    assert printable("a\x1b[2Jb\x07") == "a\\x1b[2Jb\\x07"


def test_the_hash_covers_the_identification_line_really_sent(server: SimpleNamespace) -> None:
    # An unusual but valid line sent raw: the kex must still complete (our hash uses that line).
    steps = [Connect(start=False), SendRaw(b"SSH-2.0-odd_Raw_line with comments\r\n"), StartKex(), WaitKex()]
    result = _run(server, steps)
    assert (result.status, result.outcome) == (PASS, "continued"), result.message


def test_a_reply_our_client_would_refuse_is_observed_not_fatal(server: SimpleNamespace) -> None:
    # Negotiation that cannot succeed: our core would send KEY_EXCHANGE_FAILED itself; in
    # observer mode it keeps watching and the peer's own DISCONNECT is the outcome.
    steps = [Handshake(kex=("nonexistent-kex@harness.invalid",))]
    result = _run(server, steps)
    assert result.outcome.startswith("DISCONNECT KEY_EXCHANGE_FAILED(3)"), (result.outcome, result.message)
    assert "we sent DISCONNECT" not in result.transcript


@pytest.fixture
def garbage_peer() -> Iterator[SimpleNamespace]:
    """A peer that sends a valid version line, then bytes that cannot be a packet, then closes."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"SSH-2.0-garbage\r\n" + b"\xff" * 64)
            conn.recv(4096)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield SimpleNamespace(peer_id="garbage", product="garbage", address=listener.getsockname(), username="u",
                          password="p", extra={}, algorithms={})  # fmt: skip
    listener.close()
    thread.join(5)


def test_our_own_refusal_never_passes_as_the_peers_close(garbage_peer: SimpleNamespace) -> None:
    result = _run(garbage_peer, [Connect(), ExpectClose()])
    assert result.status == ERROR, (result.status, result.message)
    assert "harness-side ending" in result.message
    assert result.outcome == ""


def test_update_rewrites_and_extends_pins(tmp_path: Path) -> None:
    rows = [{"peer": "p", "scenario": "a/b", "status": "pass", "outcome": "continued"},
            {"peer": "p", "scenario": "a/c", "status": "n/a", "outcome": ""}]  # fmt: skip
    changes = update(tmp_path, rows)
    assert changes == ["p  a/b: was (not pinned), now continued"]
    assert PinFile.load(tmp_path, "p").pins == {"a/b": "continued"}
    rows[0]["outcome"] = "reset"
    assert update(tmp_path, rows, add=True) == ["p  a/b: was continued, now continued | reset"]
    assert PinFile.load(tmp_path, "p").pins == {"a/b": ["continued", "reset"]}
    assert update(tmp_path, rows) == []  # reset is one of the pinned alternatives


def test_update_writes_the_pins_the_cell_was_checked_against(tmp_path: Path) -> None:
    """A local binary run as ``dbclient`` reports its release; its pins stay under ``dbclient``."""
    rows = [{"peer": "dbclient-2022.83", "scenario": "a/b", "status": "pass", "outcome": "reset",
             "extra": {"pin_peer": "dbclient"}}]  # fmt: skip
    assert update(tmp_path, rows) == ["dbclient  a/b: was (not pinned), now reset"]
    assert PinFile.load(tmp_path, "dbclient").pins == {"a/b": "reset"}
    assert PinFile.load(tmp_path, "dbclient-2022.83").pins == {}


def test_changing_one_pin_makes_that_cell_fail_with_was_and_now(tmp_path: Path) -> None:
    """End to end against a real peer: a copy of the manifests with one pin changed."""
    import shutil
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    shutil.copytree(root / "scenarios" / "expectations", tmp_path / "exp")
    pin_file = tmp_path / "exp" / "pins" / "openssh-9.2.toml"
    pins = PinFile.load(pin_file.parent, "openssh-9.2")
    assert pins.pins["channels/exec_output_status"] == "continued"
    pins.pins["channels/exec_output_status"] = 'DISCONNECT PROTOCOL_ERROR(2) "made up"'
    pins.write()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q",
                           str(root / "scenarios" / "channels" / "exec_output_status.py"), "--peer", "openssh-9.2",
                           "--expectations", str(tmp_path / "exp")],
                          capture_output=True, text=True, timeout=240, cwd=root)  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert 'outcome changed: was DISCONNECT PROTOCOL_ERROR(2) "made up", now continued' in proc.stdout
