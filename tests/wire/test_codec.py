"""The strict codec: vectors from RFC 4251 section 5 and hypothesis round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.ssh.errors import DecodeError
from harness.ssh.wire.codec import Reader, Writer, decode_mpint, decode_name_list, encode_mpint

# RFC 4251 section 5, the mpint examples.
MPINT_VECTORS = [
    (0, ""),
    (0x9A378F9B2E332A7, "09a378f9b2e332a7"),
    (0x80, "0080"),
    (-0x1234, "edcc"),
    (-0xDEADBEEF, "ff21524111"),
]


@pytest.mark.parametrize(("value", "body"), MPINT_VECTORS)
def test_mpint_rfc4251_vectors(value: int, body: str) -> None:
    assert encode_mpint(value).hex() == body
    assert decode_mpint(bytes.fromhex(body)) == value


@pytest.mark.parametrize("body", ["0001", "00", "ff80", "0000ff", "ffff"])
def test_non_canonical_mpint_raises(body: str) -> None:
    with pytest.raises(DecodeError):
        decode_mpint(bytes.fromhex(body))


@given(st.integers(min_value=-(2**600), max_value=2**600))
def test_mpint_round_trip(value: int) -> None:
    assert decode_mpint(encode_mpint(value)) == value


def test_name_list_vectors() -> None:
    assert decode_name_list(b"") == ()
    assert decode_name_list(b"zlib") == ("zlib",)
    assert decode_name_list(b"zlib,none") == ("zlib", "none")
    for bad in (b"zlib,", b",zlib", b"a,,b", b"a b", b"caf\xc3\xa9", b"a\x00b"):
        with pytest.raises(DecodeError):
            decode_name_list(bad)


def test_short_input_and_trailing_bytes_raise() -> None:
    with pytest.raises(DecodeError, match="short input"):
        Reader(b"\x00\x00\x00\x05abc").string()
    with pytest.raises(DecodeError):
        Reader(b"\x00\x00").uint32()
    r = Reader(b"\x01\x02")
    r.byte()
    with pytest.raises(DecodeError, match="trailing"):
        r.check_end()


def test_invalid_utf8_raises() -> None:
    with pytest.raises(DecodeError, match="UTF-8"):
        Reader(b"\x00\x00\x00\x01\xff").utf8()


names = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=","),
                min_size=1, max_size=20)  # fmt: skip


@given(
    st.integers(0, 255),
    st.booleans(),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**64 - 1),
    st.binary(max_size=300),
    st.text(max_size=50),
    st.lists(names, max_size=8),
    st.integers(-(2**300), 2**300),
)
def test_writer_reader_round_trip(b, flag, u32, u64, blob, text, namelist, mp) -> None:  # type: ignore[no-untyped-def]
    data = (Writer().byte(b).boolean(flag).uint32(u32).uint64(u64).string(blob).text(text)
            .name_list(namelist).mpint(mp).getvalue())  # fmt: skip
    r = Reader(data)
    assert (r.byte(), r.boolean(), r.uint32(), r.uint64(), r.string(), r.utf8(), r.name_list(), r.mpint()) == (
        b, flag, u32, u64, blob, text, tuple(namelist), mp)  # fmt: skip
    r.check_end()


@given(st.binary(max_size=64))
def test_reader_only_raises_decode_error(data: bytes) -> None:
    r = Reader(data)
    try:
        r.string()
        r.name_list()
        r.mpint()
        r.check_end()
    except DecodeError:
        pass
