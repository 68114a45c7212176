"""Typed messages: encode/decode round trips for every table entry, strictness, repr names."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.ssh.errors import DecodeError
from harness.ssh.wire import messages as m
from harness.ssh.wire.fields import (
    BOOL,
    BYTE,
    DISCRIMINATOR,
    MPINT,
    NAMES,
    REST,
    STRING,
    TEXT,
    U32,
    U64,
    Counted,
    If,
    Raw,
)  # fmt: skip
from harness.ssh.wire.message import Message, UnknownMessage

ALL_CLASSES: list[tuple[type[Message], str | None, str | None]] = []
for _cls in m.GENERIC_TABLE.values():
    ALL_CLASSES.append((_cls, None, None))
    for _sub in _cls.SUBTYPES.values():
        ALL_CLASSES.append((_sub, None, None))
for _ctx, _tab in m.KEX_TABLES.items():
    ALL_CLASSES += [(c, _ctx, None) for c in _tab.values()]
for _ctx, _tab in m.AUTH_TABLES.items():
    ALL_CLASSES += [(c, None, _ctx) for c in _tab.values()]

_name = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=","),
                min_size=1, max_size=12)  # fmt: skip


def _strategy(kind):  # type: ignore[no-untyped-def]
    if kind is BYTE:
        return st.integers(0, 255)
    if kind is BOOL:
        return st.booleans()
    if kind is U32:
        return st.integers(0, 2**32 - 1)
    if kind is U64:
        return st.integers(0, 2**64 - 1)
    if kind in (STRING, REST):
        return st.binary(max_size=40)
    if kind is TEXT:
        return st.text(max_size=20)
    if kind is NAMES:
        return st.lists(_name, max_size=4).map(tuple)
    if kind is MPINT:
        return st.integers(-(2**200), 2**200)
    if isinstance(kind, Raw):
        return st.binary(min_size=kind.size, max_size=kind.size)
    if isinstance(kind, Counted):
        rec = st.tuples(*[_strategy(k) for _, k in kind.record])
        if len(kind.record) == 1:
            rec = rec.map(lambda t: t[0])
        return st.lists(rec, max_size=3).map(tuple)
    raise AssertionError(kind)


def _message_strategy(cls: type[Message]):  # type: ignore[no-untyped-def]
    fields = {}
    conditional = {}
    for name, kind in cls.FIELDS:
        if kind is DISCRIMINATOR:
            continue
        if isinstance(kind, If):
            conditional[name] = kind
            continue
        fields[name] = _strategy(kind)

    @st.composite
    def build(draw):  # type: ignore[no-untyped-def]
        values = {k: draw(v) for k, v in fields.items()}
        for name, kind in conditional.items():
            values[name] = draw(_strategy(kind.inner)) if values[kind.flag] else None
        if cls.SUBTYPES and cls.SUBTYPE is None:  # generic class: pick an unregistered name
            disc = next(n for n, k in cls.FIELDS if k is DISCRIMINATOR)
            values[disc] = draw(_name.filter(lambda s: s not in cls.SUBTYPES))
        return cls(**values)

    return build()


@pytest.mark.parametrize(("cls", "kex_ctx", "auth_ctx"), ALL_CLASSES, ids=lambda x: getattr(x, "NAME", str(x)))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_round_trip_every_message(cls, kex_ctx, auth_ctx, data) -> None:  # type: ignore[no-untyped-def]
    msg = data.draw(_message_strategy(cls))
    encoded = msg.encode()
    decoded = m.decode_message(encoded, kex_ctx, auth_ctx)
    assert type(decoded) is cls
    assert decoded == msg
    assert decoded.encode() == encoded
    assert repr(decoded).startswith(cls.NAME)


def test_trailing_bytes_rejected() -> None:
    with pytest.raises(DecodeError, match="trailing"):
        m.decode_message(m.ChannelEof(recipient=1).encode() + b"x")


def test_typed_subtype_with_bad_tail_is_an_error() -> None:
    payload = m.ChannelRequest(recipient=0, request_type="exit-status", want_reply=False, data=b"\x00").encode()
    with pytest.raises(DecodeError):
        m.decode_message(payload)


def test_unknown_number_decodes_to_unknown_message() -> None:
    msg = m.decode_message(bytes([192]) + b"hello")
    assert isinstance(msg, UnknownMessage) and msg.msg_id == 192 and msg.body == b"hello"
    # kex-range number without a kex context is also "unknown" (the connection decides).
    assert isinstance(m.decode_message(bytes([30, 0, 0, 0, 0])), UnknownMessage)


def test_context_decides_layout() -> None:
    payload = m.KexEcdhInit(client_public=b"\x04" * 65).encode()
    assert isinstance(m.decode_message(payload, "ecdh"), m.KexEcdhInit)
    pk_ok = m.UserauthPkOk(algorithm="ssh-ed25519", key_blob=b"k").encode()
    assert m.decode_message(pk_ok, None, "publickey").NAME == "USERAUTH_PK_OK"
    with pytest.raises(DecodeError):  # the same bytes are not a valid INFO_REQUEST
        m.decode_message(pk_ok, None, "keyboard-interactive")


def test_counted_rejects_impossible_count() -> None:
    payload = bytes([61]) + (10**6).to_bytes(4, "big")
    with pytest.raises(DecodeError, match="count"):
        m.decode_message(payload, None, "keyboard-interactive")


def test_symbolic_names() -> None:
    assert m.message_name(20) == "KEXINIT"
    assert m.message_name(94) == "CHANNEL_DATA"
    assert m.message_name(250) == "UNKNOWN_250"
    assert "CHANNEL_REQUEST[exec]" in repr(m.ChannelRequestExec(recipient=1, want_reply=True, command=b"ls"))


@given(st.binary(min_size=1, max_size=80), st.sampled_from([None, "dh", "ecdh", "gex"]),
       st.sampled_from([None, "publickey", "password", "keyboard-interactive"]))  # fmt: skip
def test_decode_raises_only_decode_error(payload: bytes, kex_ctx, auth_ctx) -> None:  # type: ignore[no-untyped-def]
    try:
        msg = m.decode_message(payload, kex_ctx, auth_ctx)
    except DecodeError:
        return
    assert msg.encode() == payload
