"""Client core against server core in memory: every kex, cipher, MAC, auth method and channel flow."""

from __future__ import annotations

import pytest

from harness.ssh import events as ev
from harness.ssh.config import ConnectionConfig
from harness.ssh.crypto.protection import CIPHERS, MACS
from harness.ssh.kex.methods import KEX_METHODS
from harness.ssh.phases import Phase
from harness.ssh.wire import messages as m

from .pair import PASSWORD, USER, Pair


def _cfg(**kw: object) -> ConnectionConfig:
    cfg = ConnectionConfig()
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


def _authenticate(p: Pair) -> None:
    p.client.auth.password(USER, PASSWORD)
    p.pump()
    assert p.client.phase is Phase.CONNECTED and p.server.phase is Phase.CONNECTED


@pytest.mark.parametrize("kex", list(KEX_METHODS))
def test_every_kex(kex: str) -> None:
    p = Pair(_cfg(kex=(kex,)), _cfg(kex=(kex,)))
    p.start()
    done = [e for e in p.client_events if isinstance(e, ev.KexComplete)]
    assert done and done[0].kex == kex and done[0].strict
    assert p.client.session_id == p.server.session_id
    _authenticate(p)


@pytest.mark.parametrize("cipher", [c for c in CIPHERS if c != "none"])
@pytest.mark.parametrize("mac", ["hmac-sha2-256-etm@openssh.com", "hmac-sha1-96", "hmac-md5"])
def test_ciphers_and_macs(cipher: str, mac: str) -> None:
    p = Pair(_cfg(kex=("curve25519-sha256",), ciphers=(cipher,), macs=(mac,)),
             _cfg(ciphers=(cipher,), macs=tuple(MACS)))  # fmt: skip
    p.start()
    _authenticate(p)
    p.client.rekey()
    p.pump()
    assert sum(isinstance(e, ev.KexComplete) for e in p.client_events) == 2


@pytest.mark.parametrize("host_key", ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"])
def test_host_key_algorithms(host_key: str) -> None:
    p = Pair(_cfg(kex=("curve25519-sha256",), host_key_algorithms=(host_key,)))
    p.start()
    assert p.client.kex.host_key_algorithm == host_key


def test_ext_info_and_server_sig_algs() -> None:
    p = Pair()
    p.start()
    assert any(isinstance(e, ev.ExtInfoReceived) for e in p.client_events)
    assert "rsa-sha2-512" in (p.client.auth.server_sig_algs or ())


@pytest.mark.parametrize("compression", ["zlib", "zlib@openssh.com"])
def test_compression_and_channel_data(compression: str) -> None:
    p = Pair(_cfg(compression=(compression,)), _cfg(compression=(compression,)))
    p.start()
    _authenticate(p)
    cid = p.client.channels.open("session")
    p.pump()
    p.client.channels.send_request(cid, m.ChannelRequestExec(want_reply=True, command=b"x"))
    p.pump()
    assert ev.ChannelRequestReply(cid, True) in p.client_events
    payload = b"compressible " * 10000
    sent = p.client.channels.send_data(cid, payload)
    p.pump()
    got = b"".join(e.data for e in p.server_events if isinstance(e, ev.ChannelData))
    assert got == payload[:sent] and sent > 0
    assert p.client.writer.compressor is not p.server.reader.decompressor


def test_publickey_and_interactive_auth() -> None:
    from harness.ssh.keys import Ed25519Key

    key = Ed25519Key.generate(seed=b"k" * 32)
    p = Pair()
    p.policy.keys.append(key.asbytes())
    p.start()
    p.client.auth.publickey(USER, key)
    p.pump()
    assert p.client.auth.authenticated
    p = Pair()
    p.start()
    p.client.auth.keyboard_interactive(USER)
    p.pump()
    req = next(e for e in p.client_events if isinstance(e, ev.AuthInfoRequest))
    assert req.prompts == (("Password: ", False),)
    p.client.auth.info_response([PASSWORD])
    p.pump()
    assert p.client.auth.authenticated


def test_global_requests_and_refused_channel() -> None:
    p = Pair()
    p.start()
    _authenticate(p)
    t1 = p.client.global_request("ping@harness", True)
    t2 = p.client.global_request("other@harness", True)
    p.pump()
    replies = {e.token: e.success for e in p.client_events if isinstance(e, ev.GlobalReply)}
    assert replies == {t1: True, t2: False}
    cid = p.client.channels.open("nonexistent@harness")
    p.pump()
    assert any(isinstance(e, ev.ChannelOpenFailed) and e.channel == cid for e in p.client_events)


# -- server-side security: authentication bypass attempts --------------------------------------


def _server_error(p: Pair, payload: m.Message) -> Exception:
    p.client.send_unchecked(payload)
    data = p.client.data_to_send()
    with pytest.raises(Exception) as info:
        p.server.receive_data(data)
    return info.value


@pytest.mark.parametrize(
    "msg",
    [
        m.UserauthSuccess(),
        m.ChannelOpenSession(sender=0, initial_window=1000, max_packet=1000),
        m.GlobalRequest(request_name="tcpip-forward", want_reply=True, data=b""),
        m.ChannelData(recipient=0, data=b"x"),
    ],
    ids=lambda msg: msg.NAME,
)
def test_server_refuses_before_auth(msg: m.Message) -> None:
    from harness.ssh.errors import RemoteProtocolError

    p = Pair()
    p.start()
    err = _server_error(p, msg)
    assert isinstance(err, RemoteProtocolError) and "not allowed" in str(err)
    assert p.server.phase is Phase.CLOSED and not p.server.auth.authenticated


def test_server_refuses_user_switch_and_limits_attempts() -> None:
    from harness.ssh.errors import DisconnectReason, RemoteProtocolError

    p = Pair()
    p.start()
    p.client.auth.password(USER, "wrong")
    p.pump()
    p.client.send_unchecked(m.UserauthRequestPassword(user="mallory", service="ssh-connection", password="x"))
    with pytest.raises(RemoteProtocolError, match="change of user"):
        p.server.receive_data(p.client.data_to_send())
    p = Pair()
    p.start()
    with pytest.raises(RemoteProtocolError) as info:
        for _ in range(30):
            p.client.send_unchecked(m.UserauthRequestPassword(user=USER, service="ssh-connection", password="x"))
            p.server.receive_data(p.client.data_to_send())
    assert info.value.reason == DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE


def test_server_refuses_bad_service() -> None:
    from harness.ssh.errors import DisconnectReason, RemoteProtocolError

    p = Pair()
    p.client.start()
    p.server.start()
    # complete the kex but intercept the client's SERVICE_REQUEST
    for _ in range(10):
        p.server.receive_data(p.client.data_to_send())
        p.client.receive_data(p.server.data_to_send())
    p.client.send_unchecked(m.ServiceRequest(service="ssh-connection"))
    with pytest.raises(RemoteProtocolError) as info:
        p.server.receive_data(p.client.data_to_send())
    assert info.value.reason in (DisconnectReason.SERVICE_NOT_AVAILABLE, DisconnectReason.PROTOCOL_ERROR)


def test_publickey_with_bad_signature_fails() -> None:
    from harness.ssh.keys import Ed25519Key

    key = Ed25519Key.generate(seed=b"k" * 32)
    p = Pair()
    p.policy.keys.append(key.asbytes())
    p.start()
    p.client.send_unchecked(m.UserauthRequestPublickey(user=USER, service="ssh-connection", has_signature=True,
                            algorithm="ssh-ed25519", key_blob=key.asbytes(),
                            signature=key.sign(b"some other data")))  # fmt: skip
    p.client.auth.method = "publickey"  # the hand-made request above awaits its reply
    p.pump()
    assert not p.server.auth.authenticated
    assert any(isinstance(e, ev.AuthFailure) for e in p.client_events)


def test_outgoing_volume_alone_triggers_rekey() -> None:
    """An upload with nothing coming back must still rekey at the configured volume."""
    p = Pair(_cfg(rekey_bytes=64 * 1024))
    p.start()
    _authenticate(p)
    cid = p.client.channels.open("session")
    p.pump()
    before = p.client.kex.count
    p.client.channels.send_data(cid, b"u" * 100_000)
    assert p.client.kex.in_progress  # started from the send path, before any reply arrived
    p.pump()
    assert p.client.kex.count > before
