"""Identification line exchange: accepted versions, pre-banner limits, clear refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.ssh.errors import VersionError
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
