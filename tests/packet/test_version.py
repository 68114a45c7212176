"""Identification line exchange: accepted versions, pre-banner limits, clear refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.ssh.errors import DisconnectReason, VersionError
from harness.ssh.packet.version import VersionReader, make_version_line


def test_basic_and_leftover() -> None:
    r = VersionReader(allow_pre_banner=True)
    assert r.feed(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\x00\x00") == b"\x00\x00"
    assert r.result is not None
    assert r.result.software_version == "OpenSSH_9.2p1"
    assert r.result.comments == "Debian-2"
    assert r.result.line == "SSH-2.0-OpenSSH_9.2p1 Debian-2"


def test_split_across_chunks_and_pre_banner() -> None:
    r = VersionReader(allow_pre_banner=True)
    for chunk in (b"hello\r\nwor", b"ld\nSSH-1.9", b"9-dropbear\r", b"\n"):
        r.feed(chunk)
    assert r.result is not None and r.result.proto_version == "1.99"
    assert r.result.pre_banner == ("hello", "world")


def test_bare_lf_accepted_and_recorded() -> None:
    r = VersionReader(allow_pre_banner=False)
    r.feed(b"SSH-2.0-x\n")
    assert r.result is not None and not r.result.ended_with_crlf


@pytest.mark.parametrize("line", [b"SSH-1.5-old\r\n", b"SSH-3.0-new\r\n", b"SSH-2.0\r\n", b"SSH-2.0-\r\n"])
def test_refused_versions(line: bytes) -> None:
    with pytest.raises(VersionError):
        VersionReader(True).feed(line)


def test_client_may_not_send_pre_banner() -> None:
    with pytest.raises(VersionError, match="before its identification"):
        VersionReader(allow_pre_banner=False).feed(b"GET / HTTP/1.1\r\n")


def test_too_long_line() -> None:
    with pytest.raises(VersionError, match="255"):
        VersionReader(True).feed(b"SSH-2.0-" + b"x" * 300 + b"\r\n")


@pytest.mark.parametrize(("line", "reason"), [
    (b"SSH-2.0-" + b"x" * 300 + b"\r\n", DisconnectReason.PROTOCOL_ERROR),  # no identification line at all
    (b"SSH-2.0-x" + b"x" * 300, DisconnectReason.PROTOCOL_ERROR),  # the same, still without its line end
    (b"SSH-2.0-a\x01b\r\n", DisconnectReason.PROTOCOL_ERROR),
    (b"SSH-2.0\r\n", DisconnectReason.PROTOCOL_ERROR),
    (b"SSH-1.5-old\r\n", DisconnectReason.PROTOCOL_VERSION_NOT_SUPPORTED),  # well formed, another protocol
])  # fmt: skip
def test_refusal_reason_codes(line: bytes, reason: DisconnectReason) -> None:
    """Found by the self-probe: a 300-byte line was refused with PROTOCOL_VERSION_NOT_SUPPORTED."""
    with pytest.raises(VersionError) as caught:
        VersionReader(True).feed(line)
    assert caught.value.reason == reason


def test_pre_banner_line_limit() -> None:
    r = VersionReader(True)
    with pytest.raises(VersionError):
        for _ in range(2000):
            r.feed(b"x\r\n")


def test_make_version_line_validates() -> None:
    assert make_version_line("harness_0.1") == b"SSH-2.0-harness_0.1\r\n"
    with pytest.raises(ValueError):
        make_version_line("bad name")


@given(st.binary(max_size=600))
def test_only_version_error(data: bytes) -> None:
    try:
        VersionReader(True).feed(data)
    except VersionError:
        pass


@pytest.mark.parametrize("first", [b"G", b"SSX", b"GET / HTTP/1.1", b"\x00\x00\x00\x0c"])
def test_server_refuses_a_client_prefix_before_any_newline(first: bytes) -> None:
    """A client's first bytes must begin "SSH-": refused at once, not after a newline or 255 KiB."""
    with pytest.raises(VersionError, match="before its identification"):
        VersionReader(allow_pre_banner=False).feed(first)


def test_server_waits_while_the_prefix_is_still_possible() -> None:
    r = VersionReader(allow_pre_banner=False)
    for byte in b"SSH-2.0-x":
        assert r.feed(bytes([byte])) == b""
    assert r.result is None
    r.feed(b"\r\n")
    assert r.result is not None and r.result.software_version == "x"


def _feed_all(chunks: list[bytes], allow: bool) -> tuple[object, bytes, str | None]:
    r = VersionReader(allow)
    rest = b""
    try:
        for chunk in chunks:
            rest = r.feed(chunk)
            if r.result is not None:
                break
    except VersionError as exc:
        return None, b"", type(exc).__name__
    return r.result, rest, None


@given(st.binary(max_size=400), st.booleans(), st.lists(st.integers(1, 40), max_size=30))
def test_chunking_does_not_change_the_outcome(data: bytes, allow: bool, cuts: list[int]) -> None:
    """The resumed newline scan and the early prefix check give the same result for any split."""
    chunks, pos = [], 0
    for n in cuts:
        chunks.append(data[pos : pos + n])
        pos += n
    chunks.append(data[pos:])
    whole = _feed_all([data], allow)
    split = _feed_all(chunks, allow)
    assert whole[0] == split[0] and whole[2] == split[2]
    if whole[0] is not None:
        assert whole[1] == data[len(data) - len(whole[1]) :]
        consumed = len(data) - len(whole[1])
        assert split[1] == data[consumed:][: len(split[1])] or split[1] == b""


def test_long_pre_banner_line_byte_by_byte() -> None:
    """A 100 KiB pre-banner line trickled one byte at a time, then the identification line."""
    r = VersionReader(True)
    data = b"x" * 100_000 + b"\r\nSSH-2.0-late\r\n"
    for i in range(len(data)):
        r.feed(data[i : i + 1])
    assert r.result is not None and r.result.pre_banner == ("x" * 100_000,)
