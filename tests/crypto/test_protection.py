"""Packet protection (harness.ssh.crypto.protection): round trips, tampering, vectors, oracles.

Why three kinds of evidence: round trips only prove that sealer and opener agree with each
other; the published vectors pin the primitives as SSH feeds them (sequence number before the
packet, digest truncation, CTR/CBC state across packets, OpenSSH's ChaCha20 key split); and
asyncssh, an independent SSH implementation, pins the whole packet format byte for byte for
every algorithm both of us implement. The framing test runs the real PacketWriter/PacketReader
on top, fed in odd chunk sizes, because that is how the packet layer calls these objects.

Sources of the fixed vectors (hex stored here):

* RFC 2202 section 2 and 3 test cases 1 and 5 (HMAC-SHA1, HMAC-MD5, and their -96 truncations),
  RFC 4231 section 4.2 test case 1 (HMAC-SHA-256 and HMAC-SHA-512).
* NIST SP 800-38A appendix F.2.1 (CBC-AES128.Encrypt) and F.5.1 (CTR-AES128.Encrypt).
* draft-ietf-sshm-chacha20-poly1305-02 appendix A, the worked chacha20-poly1305@openssh.com
  example (figures 4, 5, 8, 11 and 17), sequence number 7.
"""

from __future__ import annotations

import random
import struct

import pytest
from asyncssh.encryption import get_encryption
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.ssh.crypto.compression import COMPRESSIONS, make_compressor, make_decompressor
from harness.ssh.crypto.protection import (
    AEAD_CIPHERS,
    CIPHERS,
    DEFAULT_CIPHERS,
    DEFAULT_MACS,
    MACS,
    CipherSpec,
    MacSpec,
    Opener,
    Sealer,
    make_opener,
    make_sealer,
    null_opener,
    null_sealer,
)
from harness.ssh.errors import DecodeError, MacError, RemoteProtocolError
from harness.ssh.limits import MAX_PACKET_LENGTH
from harness.ssh.packet.framing import PacketReader, PacketWriter

NON_AEAD = [name for name, spec in CIPHERS.items() if not spec.aead]
AEAD = [name for name, spec in CIPHERS.items() if spec.aead]
# Every cipher with every MAC (and with no MAC at all); AEAD ciphers with and without a MAC
# negotiated (it must be ignored).
COMBOS = [(c, m) for c in NON_AEAD for m in [*MACS, None]] + [(c, m) for c in AEAD for m in (None, "hmac-sha1")]
# One representative per mode and primitive family for the slower property tests.
TAMPER_COMBOS = [
    ("aes128-ctr", "hmac-sha2-256"),
    ("aes256-cbc", "hmac-sha1-96"),
    ("3des-cbc", "hmac-md5"),
    ("aes192-ctr", "hmac-sha2-512-etm@openssh.com"),
    ("aes128-cbc", "hmac-md5-96-etm@openssh.com"),
    ("none", "hmac-sha1-etm@openssh.com"),
    ("none", "hmac-sha2-256"),
    ("aes128-gcm@openssh.com", None),
    ("aes256-gcm@openssh.com", None),
    ("chacha20-poly1305@openssh.com", None),
]
SIZES = [0, 1, 15, 16, 17, 100, 1000, 4095, 32768]


def keys_for(cipher: str, mac: str | None, seed: int) -> tuple[bytes, bytes, bytes]:
    rng = random.Random(seed)
    spec = CIPHERS[cipher]
    mac_size = MACS[mac].key_size if mac and not spec.aead else 0
    return rng.randbytes(spec.key_size), rng.randbytes(spec.iv_size), rng.randbytes(mac_size)


def pair(cipher: str, mac: str | None, seed: int = 1) -> tuple[Sealer, Opener]:
    key, iv, mac_key = keys_for(cipher, mac, seed)
    mac_spec = MACS[mac] if mac else None
    return (
        make_sealer(CIPHERS[cipher], mac_spec, key, iv, mac_key),
        make_opener(CIPHERS[cipher], mac_spec, key, iv, mac_key),
    )


def build_packet(payload: bytes, sealer: Sealer, rng: random.Random, pad_delta: int = 0) -> bytes:
    """A plaintext packet padded the way RFC 4253 6 asks (``pad_delta`` breaks it on purpose)."""
    block = max(8, sealer.block_size)
    pad = block - (5 - sealer.aad_len + len(payload)) % block
    if pad < 4:
        pad += block
    pad += pad_delta
    return struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + rng.randbytes(pad)


def read_all(opener: Opener, stream: bytes, seq: int) -> list[bytes]:
    """Split a byte stream into packets exactly as the contract says the packet layer does."""
    out = []
    pos = 0
    while pos < len(stream):
        length = opener.packet_length(seq, memoryview(stream)[pos : pos + opener.header_len])
        total = 4 + length + opener.mac_len
        out.append(opener.open(seq, memoryview(stream)[pos : pos + total]))
        pos += total
        seq = (seq + 1) & 0xFFFFFFFF
    assert pos == len(stream)
    return out


@pytest.mark.parametrize(("cipher", "mac"), COMBOS)
@pytest.mark.parametrize("seq0", [0, 7, 0xFFFFFFFD])
def test_round_trip_consecutive_packets(cipher: str, mac: str | None, seq0: int) -> None:
    sealer, opener = pair(cipher, mac, seed=seq0)
    rng = random.Random(f"{cipher}/{mac}/{seq0}")
    packets = [build_packet(rng.randbytes(n), sealer, rng) for n in SIZES]
    stream = b"".join(sealer.seal((seq0 + i) & 0xFFFFFFFF, p) for i, p in enumerate(packets))
    assert read_all(opener, stream, seq0) == [p[4:] for p in packets]


@pytest.mark.parametrize(("cipher", "mac"), COMBOS)
def test_attributes_match_the_mode(cipher: str, mac: str | None) -> None:
    sealer, opener = pair(cipher, mac)
    spec = CIPHERS[cipher]
    mac_spec = None if spec.aead or mac is None else MACS[mac]
    separate_length = spec.aead or bool(mac_spec and mac_spec.etm)
    assert sealer.block_size == opener.block_size == spec.block_size
    assert sealer.aad_len == (4 if separate_length else 0)
    assert opener.header_len == (4 if separate_length else spec.block_size)
    expected_mac = spec.tag_size if spec.aead else (mac_spec.digest_size if mac_spec else 0)
    assert sealer.mac_len == opener.mac_len == expected_mac


@pytest.mark.parametrize(("cipher", "mac"), COMBOS)
def test_through_the_packet_layer_in_odd_chunks(cipher: str, mac: str | None) -> None:
    """PacketWriter/PacketReader on top, with zlib on, fed 1..97 bytes at a time."""
    sealer, opener = pair(cipher, mac)
    rng = random.Random(f"chunks/{cipher}/{mac}")
    writer = PacketWriter(sealer, rng.randbytes)
    reader = PacketReader(opener)
    writer.compressor = make_compressor(COMPRESSIONS["zlib"])
    reader.decompressor = make_decompressor(COMPRESSIONS["zlib"])
    payloads = [rng.randbytes(n) for n in (1, 50, 3000, 32768, 2)]
    stream = b"".join(writer.frame(p) for p in payloads)
    got = []
    pos = 0
    while pos < len(stream):
        step = rng.randint(1, 97)
        reader.feed(stream[pos : pos + step])
        pos += step
        while (payload := reader.next_payload()) is not None:
            got.append(payload)
    assert got == payloads


def test_null_protection_before_newkeys() -> None:
    sealer, opener = null_sealer(), null_opener()
    assert (sealer.block_size, sealer.aad_len, sealer.mac_len) == (8, 0, 0)
    assert (opener.block_size, opener.header_len, opener.mac_len) == (8, 8, 0)
    packet = build_packet(b"\x14" + bytes(30), sealer, random.Random(0))
    assert sealer.seal(0, packet) == packet
    assert read_all(opener, packet, 0) == [packet[4:]]


@given(st.binary(min_size=8, max_size=200))
def test_plain_protection_is_the_null_cipher_without_mac(data: bytes) -> None:
    """The dedicated plaintext opener decides like encrypt-and-MAC with the null cipher and no MAC."""
    from harness.ssh.crypto.protection import _EamOpener, _NullContext, _NullMac

    general = _EamOpener(_NullContext(), 8, _NullMac(), 0)
    plain = null_opener()
    results = []
    for opener in (general, plain):
        try:
            length = opener.packet_length(0, data[:8])
        except DecodeError as exc:
            results.append(("error", str(exc)))
            continue
        total = 4 + length
        results.append(("ok", opener.open(0, memoryview(data[:total])) if total <= len(data) else length))
    assert results[0] == results[1]


# -- tampering -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("cipher", "mac"), TAMPER_COMBOS)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_flipped_bit_is_rejected(cipher: str, mac: str | None, data: st.DataObject) -> None:
    """A flip anywhere (length, ciphertext, MAC) gives MacError, or DecodeError from the header.

    A flip that changes the decoded length makes the reader take a different number of bytes
    from the stream (a prefix of this packet, or this packet plus what follows), which must
    fail the MAC too; lengths beyond the framing limit never reach open().
    """
    sealer, opener = pair(cipher, mac)
    seq = data.draw(st.integers(0, 0xFFFFFFFF), label="seq")
    rng = random.Random(seq)
    packet = build_packet(rng.randbytes(data.draw(st.integers(0, 80), label="payload")), sealer, rng)
    wire = bytearray(sealer.seal(seq, packet))
    pos = data.draw(st.integers(0, len(wire) - 1), label="pos")
    wire[pos] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    try:
        length = opener.packet_length(seq, memoryview(wire)[: opener.header_len])
    except DecodeError:
        assert pos < opener.header_len
        return
    if length > MAX_PACKET_LENGTH:
        assert pos < opener.header_len
        return
    total = 4 + length + opener.mac_len
    stream = bytes(wire) + rng.randbytes(max(0, total - len(wire)))
    with pytest.raises(MacError):
        opener.open(seq, memoryview(stream)[:total])


@pytest.mark.parametrize(("cipher", "mac"), [c for c in TAMPER_COMBOS if "gcm" not in c[0]])
def test_wrong_sequence_number_is_rejected(cipher: str, mac: str | None) -> None:
    """The MAC (or the chacha20 nonce) binds the sequence number: a packet in the wrong slot fails."""
    sealer, opener = pair(cipher, mac)
    wire = sealer.seal(5, build_packet(b"payload", sealer, random.Random(5)))
    assert opener.packet_length(5, wire[: opener.header_len]) == len(wire) - 4 - opener.mac_len
    with pytest.raises(MacError):
        opener.open(6, memoryview(wire))


@pytest.mark.parametrize("cipher", ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"])
def test_gcm_binds_its_own_invocation_counter(cipher: str) -> None:
    """GCM ignores the sequence number (RFC 5647 7.1): its nonce counter makes reordering fail."""
    sealer, opener = pair(cipher, None)
    rng = random.Random(0)
    second = [sealer.seal(seq, build_packet(b"m", sealer, rng)) for seq in (0, 1)][1]
    assert opener.packet_length(0, second[:4]) == len(second) - 20
    with pytest.raises(MacError):
        opener.open(0, memoryview(second))


# -- alignment and length errors ------------------------------------------------------------------


@pytest.mark.parametrize(("cipher", "mac"), TAMPER_COMBOS)
@pytest.mark.parametrize("pad_delta", [-1, 1, 3])
def test_misaligned_packet_length_is_a_decode_error(cipher: str, mac: str | None, pad_delta: int) -> None:
    """OpenSSH (ssh_packet_read_poll2) rejects a misaligned length before looking at the MAC."""
    sealer, opener = pair(cipher, mac)
    wire = sealer.seal(0, build_packet(b"\x05" + bytes(20), sealer, random.Random(1), pad_delta))
    with pytest.raises(DecodeError, match="not a multiple of the cipher block size") as info:
        opener.packet_length(0, wire[: opener.header_len])
    assert isinstance(info.value, RemoteProtocolError)


def test_mac_error_is_a_remote_protocol_error() -> None:
    assert issubclass(MacError, RemoteProtocolError)
    assert issubclass(DecodeError, RemoteProtocolError)


def test_wrong_key_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="aes256-ctr"):
        make_sealer(CIPHERS["aes256-ctr"], MACS["hmac-sha1"], bytes(16), bytes(16), bytes(20))
    with pytest.raises(ValueError, match="hmac-sha1"):
        make_opener(CIPHERS["aes128-ctr"], MACS["hmac-sha1"], bytes(16), bytes(16), bytes(32))
    with pytest.raises(ValueError, match="IV"):
        make_opener(CIPHERS["aes128-gcm@openssh.com"], None, bytes(16), bytes(16), b"")


# -- specs -------------------------------------------------------------------------------------------


def test_registry_and_defaults() -> None:
    assert tuple(CIPHERS)[:6] == DEFAULT_CIPHERS  # OpenSSH's defaults lead the registry
    assert set(DEFAULT_MACS) <= set(MACS)
    for legacy in ("3des-cbc", "aes128-cbc", "aes192-cbc", "aes256-cbc", "none"):
        assert legacy in CIPHERS and legacy not in DEFAULT_CIPHERS
    for legacy in ("hmac-md5", "hmac-md5-96", "hmac-sha1-96", "hmac-md5-etm@openssh.com", "none"):
        assert legacy in MACS and legacy not in DEFAULT_MACS
    assert {"chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com"} == AEAD_CIPHERS
    for spec in CIPHERS.values():
        assert spec.tag_size == (16 if spec.aead else 0)
    for spec in MACS.values():
        assert spec.etm == spec.name.endswith("-etm@openssh.com")
        if spec.name.startswith("umac-"):  # AES-128 keyed; the tag size is in the name
            assert (spec.key_size, spec.digest_size) == (16, 8 if spec.name.startswith("umac-64") else 16)
        else:
            assert spec.digest_size == (12 if "-96" in spec.name else spec.key_size)
    assert CIPHERS["chacha20-poly1305@openssh.com"] == CipherSpec(
        "chacha20-poly1305@openssh.com", 64, 0, 8, True, 16, algorithm="chacha20", mode="chacha20-poly1305"
    )
    assert CIPHERS["3des-cbc"].block_size == 8 and CIPHERS["3des-cbc"].key_size == 24


# -- published vectors ---------------------------------------------------------------------------

H = bytes.fromhex

# (MAC name, key, MAC input, expected wire MAC): RFC 2202 / RFC 4231.
HMAC_VECTORS = [
    ("hmac-sha1", H("0b" * 20), b"Hi There", H("b617318655057264e28bc0b6fb378c8ef146be00")),
    ("hmac-md5", H("0b" * 16), b"Hi There", H("9294727a3638bb1c13f48ef8158bfc9d")),
    ("hmac-sha1-96", H("0c" * 20), b"Test With Truncation", H("4c1a03424b55e07fe7f27be1")),
    ("hmac-md5-96", H("0c" * 16), b"Test With Truncation", H("56461ef2342edc00f9bab995")),
]
RFC4231_TC1 = [
    ("sha256", 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (
        "sha512",
        64,
        "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
        "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
    ),
]


def _mac_through_sealer(mac: MacSpec, key: bytes, message: bytes) -> bytes:
    """The SSH MAC input is uint32 seq || packet: split the vector's message that way."""
    sealer = make_sealer(CIPHERS["none"], mac, b"", b"", key)
    seq, packet = int.from_bytes(message[:4], "big"), message[4:]
    wire = sealer.seal(seq, packet)
    assert wire[: len(packet)] == packet
    return wire[len(packet) :]


@pytest.mark.parametrize(("name", "key", "message", "expected"), HMAC_VECTORS)
@pytest.mark.parametrize("etm", [False, True])
def test_hmac_vectors_through_the_mac_path(name: str, key: bytes, message: bytes, expected: bytes, etm: bool) -> None:
    # With the "none" cipher encrypt-and-MAC and encrypt-then-MAC see the same bytes.
    mac = MACS[name + "-etm@openssh.com" if etm else name]
    assert _mac_through_sealer(mac, key, message) == expected


@pytest.mark.parametrize(("hash_name", "digest", "expected"), RFC4231_TC1)
def test_rfc4231_vector_through_the_mac_path(hash_name: str, digest: int, expected: str) -> None:
    # RFC 4231's keys are not SSH-sized, so the spec is built for the vector: specs are data.
    spec = MacSpec(f"hmac-{hash_name}-rfc4231", 20, digest, False, hash_name)
    assert _mac_through_sealer(spec, H("0b" * 20), b"Hi There") == H(expected)


SP800_38A_PLAIN = H(
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
)
SP800_38A_KEY = H("2b7e151628aed2a6abf7158809cf4f3c")


@pytest.mark.parametrize(
    ("cipher", "iv", "expected"),
    [
        (
            "aes128-ctr",
            "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
            "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
            "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee",
        ),
        (
            "aes128-cbc",
            "000102030405060708090a0b0c0d0e0f",
            "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
            "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7",
        ),
    ],
)
def test_sp800_38a_vectors_across_two_packets(cipher: str, iv: str, expected: str) -> None:
    """The stream (CTR counter, CBC chaining) carries over from one packet to the next."""
    sealer = make_sealer(CIPHERS[cipher], MACS["none"], SP800_38A_KEY, H(iv), b"")
    wire = sealer.seal(0, SP800_38A_PLAIN[:16]) + sealer.seal(1, SP800_38A_PLAIN[16:])
    assert wire == H(expected)


CHACHA_KEY = H(
    "8bbff6855fc102338c373e73aac0c914f076a905b2444a32eecaffeae22becc5"
    "e9b7a7a5825a8249346ec1c28301cf394543fc7569887d76e168f37562ac0740"
)
CHACHA_PLAIN = H(  # figure 4: padding_length || payload || padding, packet_length 72
    "065e000000000000"
    "00384c6f72656d20"
    "697073756d20646f"
    "6c6f722073697420"
    "616d65742c20636f"
    "6e73656374657475"
    "7220616469706973"
    "6963696e6720656c"
    "69744e43e804dc6c"
)
CHACHA_WIRE = H(
    "2c3ecce4"  # figure 8: encrypted packet_length
    "a5bc05895bf07a7b"  # figure 11: ciphertext
    "a956b6c68829ac7c"
    "83b780b7000ecde7"
    "45afc705bbc378ce"
    "03a280236b87b53b"
    "ed5839662302b164"
    "b6286a48cd1e0971"
    "38e3cb909b8b2b82"
    "9dd18d2a35ff82d9"
    "95349e855bf02c298ef775f2d1a7e8b8"  # figure 17: Poly1305 tag
)


def test_chacha20_poly1305_draft_worked_example() -> None:
    spec = CIPHERS["chacha20-poly1305@openssh.com"]
    packet = struct.pack(">I", len(CHACHA_PLAIN)) + CHACHA_PLAIN
    assert make_sealer(spec, None, CHACHA_KEY, b"", b"").seal(7, packet) == CHACHA_WIRE
    opener = make_opener(spec, None, CHACHA_KEY, b"", b"")
    assert opener.packet_length(7, CHACHA_WIRE[:4]) == 72
    assert opener.open(7, memoryview(CHACHA_WIRE)) == CHACHA_PLAIN


# -- asyncssh as an independent oracle ----------------------------------------------------------

ORACLE_COMBOS = [(c, m) for c, m in COMBOS if c != "none"]


def _asyncssh(cipher: str, mac: str | None, seed: int):  # type: ignore[no-untyped-def]
    key, iv, mac_key = keys_for(cipher, mac, seed)
    mac_name = b"" if CIPHERS[cipher].aead or mac in (None, "none") else mac.encode()
    etm = bool(mac_name) and MACS[mac or "none"].etm
    return get_encryption(cipher.encode(), key, iv, mac_name, mac_key, etm)


@pytest.mark.parametrize(("cipher", "mac"), ORACLE_COMBOS)
def test_sealer_matches_asyncssh_and_both_open_each_other(cipher: str, mac: str | None) -> None:
    seq0 = 0xFFFFFFFE  # crosses the sequence number wrap
    sealer, our_opener = pair(cipher, mac, seed=3)
    theirs_out, theirs_in = _asyncssh(cipher, mac, 3), _asyncssh(cipher, mac, 3)
    rng = random.Random(cipher)
    block = max(8, CIPHERS[cipher].block_size)
    for i, size in enumerate([0, 33, 1000, 32768, 7]):
        seq = (seq0 + i) & 0xFFFFFFFF
        packet = build_packet(rng.randbytes(size), sealer, rng)
        ours = sealer.seal(seq, packet)
        body, tag = theirs_out.encrypt_packet(seq, packet[:4], packet[4:])
        assert ours == body + tag
        # asyncssh opens ours...
        first, _ = theirs_in.decrypt_header(seq, ours[:block], 4)
        end = len(ours) - sealer.mac_len
        assert theirs_in.decrypt_packet(seq, first, ours[block:end], 4, ours[end:]) == packet[4:]
        # ...and we open theirs.
        theirs = body + tag
        length = our_opener.packet_length(seq, theirs[: our_opener.header_len])
        assert length == len(packet) - 4
        assert our_opener.open(seq, memoryview(theirs)) == packet[4:]


def test_gcm_invocation_counter_wraps_like_asyncssh() -> None:
    spec = CIPHERS["aes128-gcm@openssh.com"]
    key, iv = bytes(range(16)), bytes(4) + b"\xff" * 8
    sealer = make_sealer(spec, None, key, iv, b"")
    oracle = get_encryption(b"aes128-gcm@openssh.com", key, iv)
    rng = random.Random(0)
    for seq in range(3):
        packet = build_packet(b"x" * 10, sealer, rng)
        body, tag = oracle.encrypt_packet(seq, packet[:4], packet[4:])
        assert sealer.seal(seq, packet) == body + tag
