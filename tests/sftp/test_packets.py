"""SFTP packet codec: round trips of every packet type, strictness, ATTRS, status errors."""

from __future__ import annotations

import errno
import re
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from harness.ssh.errors import DecodeError
from harness.ssh.sftp import constants as c
from harness.ssh.sftp import errors as e
from harness.ssh.sftp import packets as p
from harness.ssh.sftp.attributes import ATTRS, SFTPAttributes
from harness.ssh.sftp.constants import PacketType as T
from harness.ssh.sftp.constants import Status
from harness.ssh.wire.fields import DISCRIMINATOR, REST, STRING, TEXT, U32, U64, Counted, Kind
from harness.ssh.wire.message import Message

REQUESTS = list(p.REQUEST_TABLE.values())
EXTENDED = list(p.Extended.SUBTYPES.values())
RESPONSES = list(p.RESPONSE_TABLE.values())
# (class, EXTENDED_REPLY context) for every layout a response can have.
RESPONSE_CASES: list[tuple[type[Message], str | None]] = [(cls, None) for cls in RESPONSES]
RESPONSE_CASES += [(cls, name) for name, cls in p.EXTENDED_REPLY_TABLE.items()]

_u32 = st.integers(0, 2**32 - 1)
_u64 = st.integers(0, 2**64 - 1)
_ext_name = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30)


@st.composite
def attributes(draw: Any) -> SFTPAttributes:
    uidgid = draw(st.none() | st.tuples(_u32, _u32))
    times = draw(st.none() | st.tuples(_u32, _u32))
    attrs = SFTPAttributes(
        st_size=draw(st.none() | _u64),
        st_uid=uidgid and uidgid[0], st_gid=uidgid and uidgid[1],
        st_mode=draw(st.none() | _u32),
        st_atime=times and times[0], st_mtime=times and times[1],
        attr=draw(st.dictionaries(st.binary(max_size=12), st.binary(max_size=12), max_size=3)),
    )  # fmt: skip
    return attrs


def _strategy(kind: Kind) -> Any:
    if kind is U32:
        return _u32
    if kind is U64:
        return _u64
    if kind in (STRING, REST):
        return st.binary(max_size=40)
    if kind is TEXT:
        return st.text(max_size=20)
    if kind is ATTRS:
        return attributes()
    if kind is p.EXTENSION_PAIRS:
        return st.lists(st.tuples(_ext_name, st.binary(max_size=8)), max_size=4).map(tuple)
    if isinstance(kind, Counted):
        return st.lists(st.tuples(*[_strategy(k) for _, k in kind.record]), max_size=3).map(tuple)
    raise AssertionError(kind)


def packet_strategy(cls: type[Message]) -> Any:
    fields = {name: _strategy(kind) for name, kind in cls.FIELDS if kind is not DISCRIMINATOR}

    @st.composite
    def build(draw: Any) -> Message:
        values = {k: draw(v) for k, v in fields.items()}
        if cls.SUBTYPES and cls.SUBTYPE is None:  # the generic EXTENDED: an unregistered name
            values["request"] = draw(_ext_name.filter(lambda s: s not in cls.SUBTYPES))
        return cls(**values)

    return build()


def _name(x: Any) -> str:
    return getattr(x, "NAME", str(x))


@pytest.mark.parametrize("cls", REQUESTS + EXTENDED, ids=_name)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_request_round_trip(cls: type[Message], data: st.DataObject) -> None:
    packet = data.draw(packet_strategy(cls))
    body = packet.encode()
    decoded = p.decode_request(body)
    assert type(decoded) is cls
    assert decoded == packet
    assert decoded.encode() == body
    assert repr(decoded).startswith(cls.NAME)


@pytest.mark.parametrize(("cls", "context"), RESPONSE_CASES, ids=lambda x: _name(x) if x else "-")
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_response_round_trip(cls: type[Message], context: str | None, data: st.DataObject) -> None:
    packet = data.draw(packet_strategy(cls))
    body = packet.encode()
    decoded = p.decode_response(body, context)
    assert type(decoded) is cls
    assert decoded == packet
    assert decoded.encode() == body


def _ends_open(cls: type[Message]) -> bool:
    """Packets whose last field takes "the rest" cannot detect truncation or trailing bytes."""
    return cls.FIELDS[-1][1] is REST


def _max_cut(cls: type[Message], cut: int) -> int:
    """INIT/VERSION end in a list of pairs: cutting a whole pair leaves a valid packet, while
    cutting 1-3 bytes always splits a field (every field of a pair is at least 4 bytes)."""
    return min(cut, 3) if cls.FIELDS[-1][1] is p.EXTENSION_PAIRS else cut


STRICT_REQUESTS = [cls for cls in REQUESTS + EXTENDED if not _ends_open(cls)]
STRICT_RESPONSES = [(cls, ctx) for cls, ctx in RESPONSE_CASES if not _ends_open(cls)]


@pytest.mark.parametrize("cls", STRICT_REQUESTS, ids=_name)
@settings(max_examples=20, deadline=None)
@given(data=st.data(), cut=st.integers(1, 40), extra=st.binary(min_size=1, max_size=3))
def test_request_short_or_trailing_raises(cls: type[Message], data: st.DataObject, cut: int, extra: bytes) -> None:
    body = data.draw(packet_strategy(cls)).encode()
    with pytest.raises(DecodeError):
        p.decode_request(body[: max(1, len(body) - _max_cut(cls, cut))])
    with pytest.raises(DecodeError):
        p.decode_request(body + extra)


@pytest.mark.parametrize(("cls", "context"), STRICT_RESPONSES, ids=lambda x: _name(x) if x else "-")
@settings(max_examples=20, deadline=None)
@given(data=st.data(), cut=st.integers(1, 40), extra=st.binary(min_size=1, max_size=3))
def test_response_short_or_trailing_raises(cls: type[Message], context: str | None, data: st.DataObject,
                                           cut: int, extra: bytes) -> None:  # fmt: skip
    body = data.draw(packet_strategy(cls)).encode()
    with pytest.raises(DecodeError):
        p.decode_response(body[: max(1, len(body) - _max_cut(cls, cut))], context)
    with pytest.raises(DecodeError):
        p.decode_response(body + extra, context)


@given(st.binary(min_size=1, max_size=120), st.sampled_from([None, *p.EXTENDED_REPLY_TABLE]))
@example(bytes([T.NAME, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF]), None)
@example(bytes([T.ATTRS, 0, 0, 0, 1, 0, 0, 0, 0x10]), None)
def test_decoding_garbage_raises_only_decode_error(body: bytes, context: str | None) -> None:
    for decode in (p.decode_response, lambda b, _: p.decode_request(b)):
        try:
            packet = decode(body, context)
        except DecodeError:
            continue
        assert bytes(packet.encode()) == body


def test_wire_layout_of_a_read() -> None:
    packet = p.Read(request_id=7, handle=b"h1", offset=2**40, length=32768)
    assert p.encode_packet(packet).hex() == (
        "00000017" "05" "00000007" "00000002" "6831" "0000010000000000" "00008000"
    )  # fmt: skip


def test_symlink_field_order_is_neutral() -> None:
    body = p.Symlink(request_id=1, first_path=b"a", second_path=b"b").encode()
    assert body == bytes([T.SYMLINK]) + bytes.fromhex("0000000100000001") + b"a" + bytes.fromhex("00000001") + b"b"


def test_data_decodes_to_a_view_without_copy() -> None:
    body = bytearray(p.Data(request_id=3, data=b"payload").encode())
    packet = p.decode_response(body)
    assert isinstance(packet.data, memoryview) and packet.data == b"payload"
    body[-1:] = b"D"
    assert bytes(packet.data) == b"payloaD"  # it is a view of the receive buffer
    with pytest.raises(DecodeError, match="does not match"):
        p.decode_response(bytes(body) + b"x")
    with pytest.raises(DecodeError, match="shorter"):
        p.decode_response(bytes([T.DATA, 0, 0, 0]))


def test_unknown_types_and_directions_rejected() -> None:
    with pytest.raises(DecodeError, match="not an SFTP v3 response"):
        p.decode_response(p.Stat(request_id=1, path=b"/").encode())
    with pytest.raises(DecodeError, match="not an SFTP v3 request"):
        p.decode_request(p.Handle(request_id=1, handle=b"h").encode())
    with pytest.raises(DecodeError, match="not an SFTP v3"):
        p.decode_response(bytes([99, 0, 0, 0, 1]))
    with pytest.raises(DecodeError, match="empty"):
        p.decode_response(b"")


def test_name_count_beyond_the_packet_is_refused_before_allocation() -> None:
    body = bytes([T.NAME]) + (1).to_bytes(4, "big") + (10**8).to_bytes(4, "big")
    with pytest.raises(DecodeError, match="count"):
        p.decode_response(body)


def test_extended_reply_layout_comes_from_context() -> None:
    reply = p.LimitsReply(request_id=9, max_packet_length=262144, max_read_length=261120,
                          max_write_length=261120, max_open_handles=100)  # fmt: skip
    body = reply.encode()
    assert p.decode_response(body, "limits@openssh.com") == reply
    generic = p.decode_response(body)
    assert type(generic) is p.ExtendedReply and len(generic.data) == 32
    with pytest.raises(DecodeError):  # a limits reply is not a statvfs reply
        p.decode_response(body, "statvfs@openssh.com")
    assert type(p.decode_response(body, "something@example.com")) is p.ExtendedReply


def test_extended_subtypes_and_generic() -> None:
    packet = p.Extended(request_id=1, request="copy-data", data=b"\x00\x01")
    assert type(p.decode_request(packet.encode())) is p.Extended
    typed = p.Lsetstat(request_id=2, path=b"/x", attrs=SFTPAttributes(st_mode=0o600))
    assert typed.request == "lsetstat@openssh.com"
    assert p.decode_request(typed.encode()) == typed
    with pytest.raises(DecodeError):  # a typed extension with a malformed tail
        p.decode_request(p.Extended(request_id=1, request="fsync@openssh.com", data=b"\x00").encode())


def test_version_extension_pairs_keep_order_and_duplicates() -> None:
    pairs = (("a@x", b"1"), ("b@x", b"2"), ("a@x", b"3"))
    assert p.decode_response(p.Version(version=3, extensions=pairs).encode()).extensions == pairs
    many = p.Version(version=3, extensions=tuple((f"e{i}", b"") for i in range(300))).encode()
    with pytest.raises(DecodeError, match="extension pairs"):
        p.decode_response(many)


@pytest.mark.parametrize(
    ("tail", "match"),
    [
        ("00000001 61", "short input"),  # a name, then the packet ends
        ("00000001 ff 00000000", "not valid UTF-8"),
        ("00000001 61 000000", "short input"),  # the data string's length is cut
        ("00000001 61 00000002 62", "short input"),  # ... or its bytes
        ("00000001 61 00000000 00", "short input"),  # a byte that cannot start a pair
    ],
)
def test_version_extension_pairs_are_strict(tail: str, match: str) -> None:
    """The pairs run to the end of the packet: one more or one fewer byte is an error, never a
    shorter list."""
    with pytest.raises(DecodeError, match=match):
        p.decode_response(bytes.fromhex("02 00000003" + tail))


def test_version_takes_up_to_max_extensions_pairs() -> None:
    most = tuple((f"e{i}", b"") for i in range(c.MAX_EXTENSIONS))
    assert p.decode_response(p.Version(version=3, extensions=most).encode()).extensions == most
    with pytest.raises(DecodeError, match="extension pairs"):
        p.decode_response(p.Version(version=3, extensions=(*most, ("one-more", b""))).encode())


# -- ATTRS -------------------------------------------------------------------------------------


@given(attributes())
def test_attrs_round_trip(attrs: SFTPAttributes) -> None:
    raw = attrs.encode()
    assert SFTPAttributes.decode(raw) == attrs
    assert int.from_bytes(raw[:4], "big") == attrs.flags


def test_attrs_layout() -> None:
    attrs = SFTPAttributes(st_size=5, st_uid=1, st_gid=2, st_mode=0o100644, st_atime=10, st_mtime=20,
                           attr={b"k": b"v"})  # fmt: skip
    assert attrs.encode().hex() == (
        "8000000f" "0000000000000005" "00000001" "00000002" "000081a4" "0000000a" "00000014"
        "00000001" "000000016b" "0000000176"
    )  # fmt: skip
    assert SFTPAttributes().encode() == bytes(4)


@pytest.mark.parametrize(("raw", "match"), [
    ("00000010", "does not define"),  # flag bit 0x10 is not version 3
    ("40000000", "does not define"),
    ("00000001000000", "short"),  # size cut short
    ("80000000" "00000000", "count of 0"),
    ("80000000" "00000002" "000000016b00000000" "000000016b00000000", "twice"),
    ("80000000" "7fffffff", "exceeds"),
    ("00000000" "00", "trailing"),
])  # fmt: skip
def test_attrs_strictness(raw: str, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        SFTPAttributes.decode(bytes.fromhex(raw))


@pytest.mark.parametrize("attrs", [
    SFTPAttributes(st_uid=1), SFTPAttributes(st_gid=1), SFTPAttributes(st_atime=1), SFTPAttributes(st_mtime=1),
    SFTPAttributes(st_size=-1), SFTPAttributes(st_mode=2**32), SFTPAttributes(st_size=2**64),
])  # fmt: skip
def test_attrs_refuse_to_encode_what_the_wire_cannot_carry(attrs: SFTPAttributes) -> None:
    with pytest.raises(ValueError):
        attrs.encode()


def test_attrs_display_like_ls() -> None:
    attrs = SFTPAttributes(st_size=12, st_uid=1000, st_gid=1000, st_mode=0o104755, st_mtime=0, st_atime=0)
    attrs.filename = "prog"
    text = str(attrs)
    assert text.startswith("-rwsr-xr-x   1 1000     1000           12 ")
    assert text.endswith(" prog")
    assert str(SFTPAttributes(st_mode=0o41777)).startswith("drwxrwxrwt")
    assert "size=12" in repr(attrs) and "'prog'" in repr(attrs)


def test_ls_line_shows_the_time_for_recent_files_and_the_year_otherwise() -> None:
    """The core reads no clock: "recent" is judged against the ``now`` it is given."""
    attrs = SFTPAttributes(st_size=1, st_mode=0o100644, st_mtime=1_700_000_000)
    attrs.filename = "f"
    recent, old, unknown = attrs.ls_line(1_700_000_060), attrs.ls_line(1_800_000_000), attrs.ls_line(None)
    assert re.search(r" \d\d:\d\d ", recent), recent
    assert " 2023 " in old and " 2023 " in unknown, (old, unknown)


# -- status codes ------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "cls", "err"), [
    (Status.NO_SUCH_FILE, FileNotFoundError, errno.ENOENT),
    (Status.PERMISSION_DENIED, PermissionError, errno.EACCES),
    (Status.FAILURE, OSError, errno.EIO),
    (Status.OP_UNSUPPORTED, OSError, errno.EOPNOTSUPP),
    (Status.FILE_ALREADY_EXISTS, FileExistsError, errno.EEXIST),
    (Status.NOT_A_DIRECTORY, NotADirectoryError, errno.ENOTDIR),
    (Status.NO_CONNECTION, ConnectionError, errno.ENOTCONN),
    (1234, OSError, errno.EIO),
])  # fmt: skip
def test_status_errors_are_oserrors_with_errno_and_path(code: int, cls: type[OSError], err: int) -> None:
    exc = e.status_error(code, "server says no", "/some/path")
    assert isinstance(exc, cls) and isinstance(exc, e.SFTPError)
    assert exc.errno == err and exc.filename == "/some/path" and exc.code == code
    assert "/some/path" in str(exc) and "server says no" in str(exc)


def test_status_error_two_paths_and_eof() -> None:
    exc = e.status_error(Status.NO_SUCH_FILE, "", "a", "b")
    assert exc.filename == "a" and exc.filename2 == "b" and "No such file" in str(exc)
    eof = e.status_error(Status.EOF, "End of file", "f")
    assert isinstance(eof, EOFError) and "'f'" in str(eof)
