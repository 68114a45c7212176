"""Engine support the scenario families rely on: a text line where the peer's first packet
belongs is the peer's refusal, Observe can skip messages that come regardless, a hand-made
KEXINIT our own decoder would refuse can still be sent, and ExtraPadding breaks only alignment."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from harness.scenario import Connect, ExpectClose, ExtraPadding, Observe, Scenario, SendRaw, StartKex, m
from harness.scenario.execute import PASS, run_one


def _run(peer: SimpleNamespace, steps: list):  # type: ignore[no-untyped-def]
    sc = Scenario(timeout=2.0, steps=steps)
    sc.id = "t/x"
    return run_one(sc, "t/x", {}, peer, 7, None)


@pytest.fixture
def server() -> Iterator[SimpleNamespace]:
    from harness.serve import Listener, ServeConfig
    from harness.ssh.keys import Ed25519Key

    listener = Listener([Ed25519Key.generate()], ServeConfig(username="u", password="p")).start()
    yield SimpleNamespace(peer_id="local", product="harness", address=listener.address, username="u", password="p",
                          extra={"auth_methods": "password"}, algorithms={})  # fmt: skip
    listener.close()


@pytest.fixture
def text_peer() -> Iterator[SimpleNamespace]:
    """Like sshd facing an SSH-1 client: its version line, then a text line, then it closes."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"SSH-2.0-textpeer\r\n")
            conn.recv(4096)
            conn.sendall(b"Protocol major versions differ: 2 vs. 1\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield SimpleNamespace(peer_id="text", product="text", address=listener.getsockname(), username="u",
                          password="p", extra={}, algorithms={})  # fmt: skip
    listener.close()
    thread.join(5)


def test_a_text_line_after_the_version_is_the_peers_refusal(text_peer: SimpleNamespace) -> None:
    result = _run(text_peer, [Connect(start=False), SendRaw(b"SSH-1.5-client\r\n"), ExpectClose(reason=(8,))])
    assert result.status == PASS, result.message
    assert result.outcome == "text line"


def test_observe_skips_the_messages_it_is_told_to(server: SimpleNamespace) -> None:
    steps = [Connect(start=False), SendRaw(b"SSH-2.0-x\r\n"), StartKex(), Observe(1, ignore=(m.KexInit,))]
    result = _run(server, steps)
    assert result.outcome.startswith("reply KEX"), result.outcome


def test_a_kexinit_our_decoder_would_refuse_can_be_sent(server: SimpleNamespace) -> None:
    def trailing(msg, ctx):  # type: ignore[no-untyped-def]
        raw = msg.encode() + b"\x01\x02"
        msg.encode = lambda: raw
        return msg

    result = _run(server, [Connect(kexinit=trailing), Observe(1, ignore=(m.KexInit,))])
    assert result.status == PASS, result.message  # our own core did not choke on its own KEXINIT
    assert result.outcome.startswith("DISCONNECT"), result.outcome  # our server refuses trailing bytes


def test_extra_padding_keeps_every_field_true_and_breaks_alignment() -> None:
    payload = b"\x02" + b"\x00\x00\x00\x03abc"
    padding = 8 - (5 + len(payload)) % 8 + 8
    packet = bytearray(struct.pack(">IB", 1 + len(payload) + padding, padding) + payload + bytes(padding))
    out = ExtraPadding(1).apply(packet)
    length, pad = struct.unpack(">IB", bytes(out[:5]))
    assert (length, pad) == (len(out) - 4, padding + 1)
    assert out[5 : 5 + len(payload)] == payload
    assert len(out) % 8 == 1
