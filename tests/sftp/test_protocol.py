"""The sans-I/O client session: handshake, framing under any chunking, request-id bookkeeping."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.ssh.errors import DecodeError, LocalProtocolError
from harness.ssh.sftp import packets as p
from harness.ssh.sftp.attributes import SFTPAttributes
from harness.ssh.sftp.constants import MAX_OUTSTANDING_REQUESTS, MAX_PACKET_LENGTH, Status
from harness.ssh.sftp.constants import PacketType as T
from harness.ssh.sftp.errors import SFTPProtocolError
from harness.ssh.sftp.protocol import SCRATCH_SIZE, SFTPClientProtocol
from harness.ssh.wire.message import Message

OPENSSH_EXTENSIONS = (("posix-rename@openssh.com", b"1"), ("statvfs@openssh.com", b"2"),
                      ("limits@openssh.com", b"1"))  # fmt: skip


def wire(packet: Message) -> bytes:
    return p.encode_packet(packet)


def started(extensions: tuple[tuple[str, bytes], ...] = OPENSSH_EXTENSIONS) -> SFTPClientProtocol:
    proto = SFTPClientProtocol()
    proto.start()
    assert proto.data_to_send() == bytes.fromhex("000000050100000003")
    proto.receive_data(wire(p.Version(version=3, extensions=extensions)))
    return proto


def responses(proto: SFTPClientProtocol) -> list:
    out = []
    while (r := proto.next_response()) is not None:
        out.append(r)
    return out


def test_handshake_records_extensions() -> None:
    proto = started()
    assert proto.version == 3
    assert proto.supports("limits@openssh.com") and not proto.supports("hardlink@openssh.com")
    assert proto.extension_pairs == OPENSSH_EXTENSIONS


@pytest.mark.parametrize(("first", "match"), [
    (p.Version(version=4), "version 4"),
    (p.Version(version=2), "version 2"),
    (p.StatusPacket(request_id=0, code=0), "before FXP_VERSION"),
])  # fmt: skip
def test_bad_handshakes(first: Message, match: str) -> None:
    proto = SFTPClientProtocol()
    proto.start()
    with pytest.raises(SFTPProtocolError, match=match):
        proto.receive_data(wire(first))
    # the session is dead from then on, with the same error
    with pytest.raises(SFTPProtocolError, match=match):
        proto.buffer_updated(0)


def test_requests_before_version_and_second_version() -> None:
    proto = SFTPClientProtocol()
    proto.start()
    with pytest.raises(LocalProtocolError):
        proto.send(p.Stat(path=b"/"))
    with pytest.raises(LocalProtocolError):
        proto.start()
    proto.receive_data(wire(p.Version(version=3)))
    with pytest.raises(SFTPProtocolError, match="second"):
        proto.receive_data(wire(p.Version(version=3)))


def test_ids_increase_and_replies_match() -> None:
    proto = started()
    ids = [proto.send(p.Stat(path=b"/a")), proto.send(p.Open(filename=b"f", pflags=1)),
           proto.send(p.Read(handle=b"h", offset=0, length=10))]  # fmt: skip
    assert ids == [0, 1, 2]
    sent = proto.data_to_send()
    assert sent.startswith(wire(p.Stat(request_id=0, path=b"/a")))
    assert proto.outstanding == 3
    proto.receive_data(wire(p.Data(request_id=2, data=b"0123456789"))
                       + wire(p.Handle(request_id=1, handle=b"h"))
                       + wire(p.StatusPacket(request_id=0, code=Status.NO_SUCH_FILE, message="nope")))  # fmt: skip
    got = responses(proto)
    assert [(r.request_id, r.request_type) for r in got] == [(2, T.READ), (1, T.OPEN), (0, T.STAT)]
    assert got[0].packet.data == b"0123456789" and got[2].packet.code == Status.NO_SUCH_FILE
    assert proto.outstanding == 0


@pytest.mark.parametrize(("request_packet", "reply", "match"), [
    (p.Read(handle=b"h", offset=0, length=4), p.Handle(handle=b"x"), "answers FXP_READ"),
    (p.Stat(path=b"/"), p.Data(data=b""), "answers FXP_STAT"),
    (p.Close(handle=b"h"), p.Attrs(), "answers FXP_CLOSE"),
    (p.Read(handle=b"h", offset=0, length=4), p.Data(data=b"12345"), "READ of 4"),
    (p.Realpath(path=b"."), p.Name(entries=((b"a", b"", SFTPAttributes()), (b"b", b"", SFTPAttributes()))),
     "exactly one"),
    (p.Hardlink(oldpath=b"a", newpath=b"b"), p.ExtendedReply(data=b""), "answers FXP_EXTENDED"),
])  # fmt: skip
def test_replies_that_cannot_answer_the_request(request_packet: Message, reply: Message, match: str) -> None:
    proto = started()
    reply.request_id = proto.send(request_packet)
    with pytest.raises(SFTPProtocolError, match=match):
        proto.receive_data(wire(reply))


def test_reply_to_unknown_or_already_answered_id() -> None:
    proto = started()
    rid = proto.send(p.Stat(path=b"/"))
    with pytest.raises(SFTPProtocolError, match="not outstanding"):
        proto.receive_data(wire(p.StatusPacket(request_id=rid + 1, code=0)))
    proto = started()
    rid = proto.send(p.Stat(path=b"/"))
    proto.receive_data(wire(p.Attrs(request_id=rid)))
    with pytest.raises(SFTPProtocolError, match="not outstanding"):
        proto.receive_data(wire(p.Attrs(request_id=rid)))


@pytest.mark.parametrize("length", [0, MAX_PACKET_LENGTH + 1, 0xFFFFFFFF])
def test_packet_length_bounds(length: int) -> None:
    proto = started()
    with pytest.raises(SFTPProtocolError, match="length"):
        proto.receive_data(length.to_bytes(4, "big") + b"\x65")


def test_malformed_reply_is_a_decode_error() -> None:
    proto = started()
    rid = proto.send(p.Stat(path=b"/"))
    body = p.Attrs(request_id=rid).encode() + b"\x00"  # trailing byte
    with pytest.raises(DecodeError, match="trailing"):
        proto.receive_data(len(body).to_bytes(4, "big") + body)
    with pytest.raises(DecodeError):
        proto.receive_data(b"")


def test_extended_replies_are_typed_by_request() -> None:
    proto = started()
    rid = proto.send(p.Limits())
    proto.receive_data(wire(p.LimitsReply(request_id=rid, max_packet_length=1, max_read_length=2,
                                          max_write_length=3, max_open_handles=4)))  # fmt: skip
    reply = responses(proto)[0].packet
    assert type(reply) is p.LimitsReply and reply.max_write_length == 3
    rid = proto.send(p.Extended(request="home-directory", data=b"\x00\x00\x00\x00"))
    proto.receive_data(wire(p.Name(request_id=rid, entries=((b"/home/u", b"", SFTPAttributes()),))))
    assert responses(proto)[0].packet.entries[0][0] == b"/home/u"


def test_abandoned_replies_are_checked_then_dropped() -> None:
    proto = started()
    first = proto.send(p.Read(handle=b"h", offset=0, length=4))
    second = proto.send(p.Read(handle=b"h", offset=4, length=4))
    proto.abandon(first)
    proto.receive_data(wire(p.Data(request_id=first, data=b"abcd")) + wire(p.Data(request_id=second, data=b"efgh")))
    assert [r.request_id for r in responses(proto)] == [second]
    third = proto.send(p.Read(handle=b"h", offset=8, length=4))
    proto.abandon(third)
    with pytest.raises(SFTPProtocolError):  # still validated
        proto.receive_data(wire(p.Handle(request_id=third, handle=b"x")))


def test_write_header_matches_the_encoder() -> None:
    proto = started()
    proto.send(p.Stat(path=b"/"))
    rid, header = proto.write_header(b"hnd", 1 << 33, 5)
    assert header + b"hello" == wire(p.Write(request_id=rid, handle=b"hnd", offset=1 << 33, data=b"hello"))
    proto.receive_data(wire(p.StatusPacket(request_id=rid, code=0)))
    assert responses(proto)[0].request_type == T.WRITE
    with pytest.raises(LocalProtocolError, match="exceeds"):
        proto.write_header(b"hnd", 0, MAX_PACKET_LENGTH)
    with pytest.raises(LocalProtocolError, match="not a request"):
        proto.send(p.StatusPacket(code=0))


def test_request_table_is_bounded_and_ids_skip_outstanding() -> None:
    proto = started()
    for _ in range(MAX_OUTSTANDING_REQUESTS):
        proto.send(p.Stat(path=b"/"))
    with pytest.raises(LocalProtocolError, match="outstanding"):
        proto.send(p.Stat(path=b"/"))
    proto.receive_data(wire(p.Attrs(request_id=5)))
    proto._next_id = 3  # as after a wrap-around of the 32-bit id space
    assert proto.send(p.Stat(path=b"/")) == 5


def _stream_and_expected(proto: SFTPClientProtocol, sizes: list[int]) -> tuple[bytes, list[tuple[int, bytes]]]:
    stream = bytearray()
    expected = []
    for size in sizes:
        rid = proto.send(p.Read(handle=b"h", offset=0, length=max(size, 1)))
        data = bytes([rid % 251]) * size
        reply = p.Data(request_id=rid, data=data) if size else p.StatusPacket(request_id=rid, code=Status.EOF)
        stream += wire(reply)
        expected.append((rid, data))
    return bytes(stream), expected


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.sampled_from([0, 1, 100, SCRATCH_SIZE - 13, SCRATCH_SIZE, 70000, 261120]), min_size=1,
                      max_size=8),
       cuts=st.lists(st.integers(1, 300000), max_size=12), buffered=st.booleans())  # fmt: skip
def test_any_chunking_gives_the_same_replies(sizes: list[int], cuts: list[int], buffered: bool) -> None:
    proto = started()
    stream, expected = _stream_and_expected(proto, sizes)
    points = sorted({c % len(stream) for c in cuts} | {0, len(stream)})
    for start, end in itertools.pairwise(points):
        chunk = memoryview(stream)[start:end]
        if buffered:  # the BufferedProtocol way: fill what get_buffer hands out
            while chunk:
                buf = proto.get_buffer()
                assert len(buf) > 0
                n = min(len(buf), len(chunk))
                buf[:n] = chunk[:n]
                chunk = chunk[n:]
                proto.buffer_updated(n)
        else:
            proto.receive_data(chunk)
    got = [(r.request_id, bytes(r.packet.data) if r.packet.ID == T.DATA else b"") for r in responses(proto)]
    assert got == expected
    assert proto.outstanding == 0


def test_byte_by_byte_through_headers_and_bodies() -> None:
    """One byte per get_buffer/buffer_updated: every split of every length header, bodies held
    in the scratch area and in their own buffer; the buffer handed out is never empty."""
    proto = started()
    stream, expected = _stream_and_expected(proto, [0, 1, 100, SCRATCH_SIZE + 7, 0])
    for byte in stream:
        buf = proto.get_buffer()
        assert len(buf) > 0
        buf[0] = byte
        proto.buffer_updated(1)
    got = [(r.request_id, bytes(r.packet.data) if r.packet.ID == T.DATA else b"") for r in responses(proto)]
    assert got == expected


def test_an_error_is_kept_and_raised_by_every_later_call() -> None:
    proto = started()
    with pytest.raises(SFTPProtocolError, match="not outstanding") as first:
        proto.receive_data(wire(p.StatusPacket(request_id=9, code=Status.OK)) + wire(p.Version(version=3)))
    assert proto.error is first.value
    for again in (lambda: proto.buffer_updated(0), lambda: proto.receive_data(b"\x00"), lambda: proto.send(p.Stat())):
        with pytest.raises(SFTPProtocolError) as later:
            again()
        assert later.value is first.value
    assert len(proto.get_buffer()) > 0 and proto.next_response() is None


_frames = st.lists(
    st.tuples(st.sampled_from([*map(int, T), 0, 99, 255]), st.integers(0, 3), st.binary(max_size=40)), max_size=4
).map(lambda frames: b"".join(
    (5 + len(body)).to_bytes(4, "big") + bytes([kind]) + rid.to_bytes(4, "big") + body for kind, rid, body in frames
))  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(st.binary(max_size=300), _frames), version_first=st.booleans())
def test_receive_path_raises_only_protocol_errors(data: bytes, version_first: bool) -> None:
    """The fuzzers' oracle: whatever the server sends either parses or raises DecodeError or
    SFTPProtocolError (both RemoteProtocolError); anything else is a bug."""
    proto = started() if version_first else SFTPClientProtocol()
    if version_first:
        proto.send(p.Read(handle=b"h", offset=0, length=100))
        proto.send(p.Stat(path=b"/"))
        proto.send(p.Limits())
        proto.send(p.Realpath(path=b"."))
    try:
        proto.receive_data(data)
    except (DecodeError, SFTPProtocolError):
        pass
