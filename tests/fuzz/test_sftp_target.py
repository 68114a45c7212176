"""The SFTP fuzz target under hypothesis (bounded), and checks that its oracle can fail.

Structured inputs (every request and response packet type, encoded, in sessions with real
requests and every chunking) and mutated real seeds (``corpus/sftp``, recorded against OpenSSH
and Dropbear) go through the same ``fuzz_one_input`` a campaign runs. The oracle tests feed
the target's session checker inputs whose faults it must see, so a target that silently
accepted everything would fail here.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.fuzz import fuzz_sftp
from harness.fuzz.common import FEED_BYTES, FEED_CHUNKS, FEED_WHOLE, OracleViolation
from harness.ssh.sftp import SFTPAttributes, SFTPProtocolError
from harness.ssh.sftp import packets as p
from harness.ssh.sftp.constants import PacketType as T

from .strategies import mutated, seed_files

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

attrs = st.builds(
    SFTPAttributes,
    st_size=st.none() | st.integers(0, 2**64 - 1),
    st_mode=st.none() | st.integers(0, 2**32 - 1),
    attr=st.dictionaries(st.binary(max_size=8), st.binary(max_size=8), max_size=2),
)
request_ids = st.integers(0, 2**32 - 1)
names = st.binary(max_size=24)


def _replies(request_id: st.SearchStrategy[int]) -> dict[type[p.Message], st.SearchStrategy[p.Message]]:
    return {
        p.StatusPacket: st.builds(
            p.StatusPacket,
            request_id=request_id,
            code=st.integers(0, 40),
            message=st.text(max_size=20),
            language=st.sampled_from(["", "en"]),
        ),
        p.Handle: st.builds(p.Handle, request_id=request_id, handle=names),
        p.Data: st.builds(p.Data, request_id=request_id, data=st.binary(max_size=64)),
        p.Attrs: st.builds(p.Attrs, request_id=request_id, attrs=attrs),
        p.Name: st.builds(
            p.Name, request_id=request_id, entries=st.lists(st.tuples(names, names, attrs), max_size=3).map(tuple)
        ),
        p.ExtendedReply: st.builds(p.ExtendedReply, request_id=request_id, data=st.binary(max_size=32)),
    }


def _responses(request_id: st.SearchStrategy[int]) -> st.SearchStrategy[p.Message]:
    return st.one_of(*_replies(request_id).values())


@FAST
@given(_responses(request_ids), st.integers(0, len(fuzz_sftp.EXT_CONTEXTS) - 1), st.integers(0, 8))
def test_every_response_type_round_trips(packet: p.Message, context: int, cut: int) -> None:
    body = packet.encode()
    fuzz_sftp.fuzz_one_input(bytes([fuzz_sftp.MODE_RESPONSE, context]) + body)
    fuzz_sftp.fuzz_one_input(bytes([fuzz_sftp.MODE_RESPONSE, context]) + body[: max(1, len(body) - cut)])


@FAST
@given(st.sampled_from(fuzz_sftp.REQUEST_KINDS), st.integers(0, len(fuzz_sftp.READ_LENGTHS) - 1), st.integers(0, 8))
def test_every_request_type_round_trips(kind: tuple[int, str | None], length: int, cut: int) -> None:
    packet = fuzz_sftp.make_request(kind[0], kind[1], fuzz_sftp.READ_LENGTHS[length])
    body = packet.encode()
    fuzz_sftp.fuzz_one_input(bytes([fuzz_sftp.MODE_REQUEST]) + body)
    fuzz_sftp.fuzz_one_input(bytes([fuzz_sftp.MODE_REQUEST]) + body[: max(1, len(body) - cut)])


_VERSION = p.encode_packet(p.Version(version=3, extensions=(("limits@openssh.com", b"1"),)))


@FAST
@given(st.lists(st.tuples(st.sampled_from([(T.READ, None), (T.STAT, None), (T.READDIR, None), (T.OPEN, None)]),
                          st.booleans()), min_size=1, max_size=6),
       st.data(), st.integers(0, 31), st.binary(min_size=4, max_size=4))  # fmt: skip
def test_sessions_with_matching_replies(kinds: list[tuple[tuple[int, None], bool]], data: st.DataObject, feed: int,
                                        sizes: bytes) -> None:  # fmt: skip
    plan = b"".join(fuzz_sftp.plan_entry(t, ext, 65536, abandon) for (t, ext), abandon in kinds)
    allowed = {T.READ: (p.Data, p.StatusPacket), T.STAT: (p.Attrs, p.StatusPacket), T.READDIR: (p.Name,),
               T.OPEN: (p.Handle,)}  # fmt: skip
    stream = bytearray(_VERSION)
    for request_id, ((t, _), _) in enumerate(kinds):
        cls = data.draw(st.sampled_from(allowed[t]))
        reply = data.draw(_replies(st.just(request_id))[cls])
        stream += p.encode_packet(reply)
    fuzz_sftp.fuzz_one_input(fuzz_sftp.session_input(plan, bytes(stream), feed, sizes))
    cut = data.draw(st.integers(0, len(stream)))
    fuzz_sftp.fuzz_one_input(fuzz_sftp.session_input(plan, bytes(stream[:cut]), feed, sizes))


@FAST
@given(mutated(seed_files("sftp")))
def test_mutated_seeds(data: bytes) -> None:
    fuzz_sftp.fuzz_one_input(data)


# -- the oracle sees what it promises to see ----------------------------------------------------------------


def _run_session(plan: bytes, stream: bytes, feed: int) -> fuzz_sftp._Session:
    """The target's session run, kept so the test can look at what it observed."""
    run = fuzz_sftp._Session(feed, b"\x02\x05\x00\x40")
    bodies, _ = fuzz_sftp._frame(stream)
    end = 4 + len(bodies[0])
    assert run.feed(stream[:end])
    run.send_plan(plan)
    run.feed(stream[end:])
    return run


@pytest.mark.parametrize("feed", [FEED_WHOLE, FEED_BYTES, FEED_CHUNKS, FEED_CHUNKS | fuzz_sftp.FLAG_BUFFER_PROTOCOL])
def test_a_real_session_is_delivered_whole(feed: int) -> None:
    """A recorded session (OpenSSH's sftp-server) goes through with every reply delivered."""
    seed = next(d for d in seed_files("sftp") if len(d) > 1000 and d[0] & 3 >= 2)
    plan_len = int.from_bytes(seed[6:8], "big")
    plan, stream = seed[8 : 8 + plan_len], seed[8 + plan_len :]
    run = _run_session(plan, stream, feed)
    assert run.error is None
    assert len(run.delivered) == len(plan) // 2 > 5
    run.check_delivered(fuzz_sftp._frame(stream)[0][1:], b"")


def test_oracle_reports_a_reply_delivered_wrong() -> None:
    """check_delivered compares against the stream: a reply that differs is an OracleViolation."""
    plan = fuzz_sftp.plan_entry(T.READ, None, 16)
    stream = _VERSION + p.encode_packet(p.Data(request_id=0, data=b"abc"))
    run = _run_session(plan, stream, FEED_WHOLE)
    bodies = fuzz_sftp._frame(stream)[0][1:]
    run.check_delivered(bodies, b"")
    forged = [p.Data(request_id=0, data=b"ab").encode()]  # as if the protocol had delivered it short
    with pytest.raises(OracleViolation, match="re-encodes differently"):
        run.check_delivered(forged, b"")
    with pytest.raises(OracleViolation, match="breaks the protocol tables but was accepted"):
        run.check_delivered(bodies * 2, b"")  # the same reply twice: the second answers nothing
    with pytest.raises(OracleViolation, match="allow was refused"):
        run.error = SFTPProtocolError("as if the protocol had refused it")
        run.check_delivered(bodies, b"")


def test_protocol_errors_are_sticky_and_promised() -> None:
    """A reply to a request never sent raises SFTPProtocolError, and keeps raising it."""
    stream = _VERSION + p.encode_packet(p.StatusPacket(request_id=7, code=0))
    run = _run_session(b"", stream, FEED_WHOLE)
    assert run.error is not None and "not outstanding" in str(run.error)
    fuzz_sftp.fuzz_one_input(fuzz_sftp.session_input(b"", stream, FEED_BYTES))


def test_unknown_extension_may_answer_with_data() -> None:
    """Regression (corpus/regressions/sftp/crash-4b50d4d23e): DATA answering an extension we have
    no table for is allowed by ANY_RESPONSE and must be delivered, not refused as an oversized READ."""
    from harness.ssh.sftp.protocol import SFTPClientProtocol

    proto = SFTPClientProtocol()
    proto.start()
    proto.receive_data(_VERSION)
    rid = proto.send(p.Extended(request="vendor-ext@example.com", data=b""))
    proto.receive_data(p.encode_packet(p.Data(request_id=rid, data=b"xy")))
    response = proto.next_response()
    assert response is not None and bytes(response.packet.data) == b"xy"
    read = proto.send(p.Read(handle=b"h", offset=0, length=1))  # a READ's length still bounds its DATA
    with pytest.raises(SFTPProtocolError, match="answers a READ of 1"):
        proto.receive_data(p.encode_packet(p.Data(request_id=read, data=b"xy")))


# -- the target's own speed-ups keep what it checks --------------------------------------------------------


def test_reference_model_decodes_with_its_own_copy_of_the_codec() -> None:
    """The reference codec is a second import of the same source (uninstrumented when fuzzing): its
    own classes, while the code under test keeps the modules in sys.modules; it decides alike."""
    import sys

    from harness.ssh.errors import DecodeError

    assert fuzz_sftp._ref is not p and sys.modules["harness.ssh.sftp.packets"] is p
    assert fuzz_sftp._RefDecodeError is not DecodeError and fuzz_sftp._ref.__file__ == p.__file__
    statvfs = p.StatvfsReply(request_id=1, **dict.fromkeys(p.STATVFS_FIELDS, 7)).encode()
    assert fuzz_sftp._reference_decode(statvfs, "statvfs@openssh.com") == (T.EXTENDED_REPLY, -1)
    assert fuzz_sftp._reference_decode(statvfs[:-1], "statvfs@openssh.com") is None  # typed: too short
    assert fuzz_sftp._reference_decode(statvfs[:-1], None) == (T.EXTENDED_REPLY, -1)  # opaque
    name = p.Name(request_id=2, entries=((b"a", b"", SFTPAttributes()), (b"b", b"", SFTPAttributes()))).encode()
    assert fuzz_sftp._reference_decode(name, None) == (T.NAME, 2)


def test_plan_stops_once_every_id_the_stream_names_is_handed_out() -> None:
    """Requests no reply can name are not sent; the outstanding count is checked against what was."""
    plan = b"".join(fuzz_sftp.plan_entry(T.STAT, None) for _ in range(10))
    stream = _VERSION + p.encode_packet(p.Attrs(request_id=2, attrs=SFTPAttributes()))
    run = _run_session(b"", _VERSION, FEED_WHOLE)
    run.send_plan(plan, {2})
    assert sorted(run.sent) == [0, 1, 2] and run.proto.outstanding == 3
    run.feed(stream[len(_VERSION) :])
    run.check_delivered(fuzz_sftp._frame(stream)[0][1:], b"")
    assert run.proto.outstanding == 2
    fuzz_sftp.fuzz_one_input(fuzz_sftp.session_input(plan, stream, FEED_BYTES))


@pytest.mark.parametrize("kind", range(len(fuzz_sftp.REQUEST_KINDS)))
def test_plan_requests_are_fresh_copies_of_make_request(kind: int) -> None:
    packet_type, extension = fuzz_sftp.REQUEST_KINDS[kind]
    first, second = fuzz_sftp._fresh_request(kind, 1024), fuzz_sftp._fresh_request(kind, 1024)
    assert first == second == fuzz_sftp.make_request(packet_type, extension, 1024) and first is not second
