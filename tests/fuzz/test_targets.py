"""A hypothesis version of every fuzz target, with bounded examples (fast, in the test suite).

The same ``fuzz_one_input`` a campaign runs, fed by structured strategies (every message type
of every handler table, encoded) and by mutated seeds. A failure here is a finding exactly as
a libFuzzer crash is: save the input with ``harness.fuzz.campaign.write_regression``.
"""

from __future__ import annotations

import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.fuzz import fuzz_codec, fuzz_connection, fuzz_connection_dh, fuzz_keys, fuzz_packet
from harness.fuzz.common import join_records
from harness.fuzz.phase_random import PhaseRandom

from .strategies import messages, mutated, seed_files

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(messages(), st.booleans())
def test_codec_every_message_type(message: tuple[bytes, str | None, str | None], flip: bool) -> None:
    payload, kctx, actx = message
    selector = fuzz_codec.selector_for(kctx, actx)
    fuzz_codec.fuzz_one_input(bytes([selector]) + payload)
    if flip and len(payload) > 1:  # a corrupted copy must still only raise DecodeError
        fuzz_codec.fuzz_one_input(bytes([selector]) + payload[:-1])


@FAST
@given(mutated(seed_files("codec")))
def test_codec_mutated_seeds(data: bytes) -> None:
    fuzz_codec.fuzz_one_input(data)


@FAST
@given(st.integers(0, 255), st.integers(0, 255), st.integers(0, 127), st.binary(min_size=4, max_size=4),
       st.lists(st.binary(max_size=300), max_size=5), st.sampled_from([b"SSH-2.0-x\r\n", b"junk\r\nSSH-2.0-y\n", b""]))
def test_packet_round_trips(cipher: int, mac: int, flags: int, sizes: bytes, payloads: list[bytes],
                            version: bytes) -> None:  # fmt: skip
    records = [version, *payloads] if not flags & fuzz_packet.FLAG_NO_VERSION else payloads
    fuzz_packet.fuzz_one_input(bytes([cipher, mac, flags]) + sizes + join_records(records))


@FAST
@given(mutated(seed_files("packet")))
def test_packet_mutated_seeds(data: bytes) -> None:
    fuzz_packet.fuzz_one_input(data)


@FAST
@given(st.sampled_from([p.code for p in fuzz_connection.FAST.phases]), st.integers(0, 31),
       st.lists(messages(), min_size=1, max_size=4))  # fmt: skip
def test_connection_every_message_in_every_phase(code: int, mode: int,
                                                 msgs: list[tuple[bytes, str | None, str | None]]) -> None:  # fmt: skip
    records = [payload for payload, _, _ in msgs]
    spec = fuzz_connection.PHASE_BY_CODE[code]
    if spec.steps == 0 and spec.after is None:  # version phases: the first record is raw bytes
        records.insert(0, b"SSH-2.0-OpenSSH_9.2p1\r\n")
    fuzz_connection.fuzz_one_input(bytes([code, mode]) + b"\x0f\x3f\x07\xff" + join_records(records))


@FAST
@given(mutated(seed_files("connection")))
def test_connection_mutated_seeds(data: bytes) -> None:
    fuzz_connection.fuzz_one_input(data)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(seed_files("connection_dh")))
def test_connection_dh_mutated_seeds(data: bytes) -> None:
    fuzz_connection_dh.fuzz_one_input(data)


@FAST
@given(mutated(seed_files("keys")))
def test_keys_mutated_seeds(data: bytes) -> None:
    fuzz_keys.fuzz_one_input(data)


@FAST
@given(st.binary(max_size=200), st.sampled_from([fuzz_keys.BLOB, fuzz_keys.KNOWN_HOSTS, fuzz_keys.AUTHORIZED_KEY]))
def test_keys_random_text(data: bytes, selector: int) -> None:
    fuzz_keys.fuzz_one_input(bytes([selector]) + data)


def test_keys_signature_seed_verifies() -> None:
    """The signature seeds are real: each one's signature verifies over its exchange hash."""
    from harness.ssh.keys import parse_public_key

    checked = 0
    for data in seed_files("keys"):
        if data[0] != fuzz_keys.SIGNATURE:
            continue
        algorithm = fuzz_keys.ALGORITHMS[data[1]]
        (n,) = struct.unpack_from(">H", data, 2)
        blob = data[4 : 4 + n]
        (m,) = struct.unpack_from(">H", data, 4 + n)
        signature = data[6 + n : 6 + n + m]
        assert parse_public_key(blob).verify(algorithm, data[6 + n + m :], signature), algorithm
        checked += 1
    assert checked >= 5


def test_packet_reused_pairs_behave_like_fresh_ones() -> None:
    """The packet target shares one sealer/opener pair per stateless protection across inputs:
    after any use, a shared pair must seal and open exactly as a fresh one does."""
    from harness.ssh.crypto import protection as prot

    def aligned_packet(sealer: prot.Sealer) -> bytes:
        block = max(sealer.block_size, 8)
        body = 1 + len(b"payload")
        padding = block - (4 - sealer.aad_len + body) % block + block
        return struct.pack(">IB", body + padding, padding) + b"payload" + bytes(padding)

    shared_count = 0
    for cipher in prot.CIPHERS.values():
        for mac in (None, *prot.MACS.values()):
            if cipher.mode not in fuzz_packet._STATELESS_MODES:
                continue
            sealer, opener = fuzz_packet._pair(cipher, mac)
            assert fuzz_packet._pair(cipher, mac)[0] is sealer
            packet = aligned_packet(sealer)
            shared_count += 1
            for seq in range(3):  # use it, as earlier inputs did
                wire = sealer.seal(seq, packet)
                opener.packet_length(seq, wire[: opener.header_len])
            fresh_sealer, fresh_opener = fuzz_packet._new_pair(cipher, mac)
            wire = sealer.seal(7, packet)
            assert wire == fresh_sealer.seal(7, packet), (cipher.name, mac)
            opener.packet_length(7, wire[: opener.header_len])
            fresh_opener.packet_length(7, wire[: fresh_opener.header_len])
            assert opener.open(7, memoryview(wire)) == fresh_opener.open(7, memoryview(wire))
    assert shared_count >= 2


def test_record_caps_ignore_the_rest() -> None:
    """Records past a target's cap are ignored: an input and its copy with junk records
    appended behave alike (here: both round-trip without an oracle violation)."""
    records = [b"SSH-2.0-x\r\n"] + [bytes([2, 0, 0, 0, 0])] * fuzz_packet.MAX_RECORDS
    base = bytes([0, 0, 0]) + b"\x07\x07\x07\x07" + join_records(records)
    fuzz_packet.fuzz_one_input(base)
    fuzz_packet.fuzz_one_input(base + join_records([b"\xff" * 40] * 50))
    from harness.fuzz.common import split_records

    assert len(split_records(join_records([b"a"] * 40), 16)) == 16
    assert len(split_records(join_records([b"a"] * 40))) == 40


@FAST
@given(st.lists(st.integers(0, 300), max_size=40), st.integers(0, 5))
def test_phase_random_is_the_seeded_stream_before_and_after_freeze(sizes: list[int], before: int) -> None:
    """Frozen or not, PhaseRandom yields exactly random.Random(seed).randbytes: the recorded
    peer's signatures cover values drawn after a phase's freeze point."""
    import random

    reference = random.Random(7)
    phase_random = PhaseRandom(7)
    for n in sizes[:before]:
        assert phase_random.randbytes(n) == reference.randbytes(n)
    phase_random.freeze()
    for n in sizes[before:]:
        assert phase_random.randbytes(n) == reference.randbytes(n), n


def test_phase_random_state_is_restored_by_the_snapshot() -> None:
    from harness.fuzz.snapshot import Snapshot

    phase_random = PhaseRandom(42)
    phase_random.randbytes(20)
    phase_random.freeze()
    snapshot = Snapshot(phase_random)
    sizes = (1, 16, 64, 65, 300)
    first = [phase_random.randbytes(n) for n in sizes]
    snapshot.restore()
    assert [phase_random.randbytes(n) for n in sizes] == first
    assert not snapshot._randoms  # nothing restored through Random.setstate
    beyond = PhaseRandom(1)
    beyond.freeze()
    beyond.randbytes(4 * beyond.AHEAD)
    assert len(beyond.randbytes(100)) == 100  # past the drawn words: still deterministic bytes


def test_phases_that_draw_after_their_point_still_complete_the_recorded_kex() -> None:
    """The version, kexinit and group-exchange seeds still get through the recorded key
    exchange (they would not with any other random stream after the phase point)."""
    from .strategies import seed_files as files

    selection = fuzz_connection.Selection.of(None)
    completed = {"version": 0, "kexinit": 0, "kex-gex": 0}
    for target in ("connection", "connection_dh"):
        for data in files(target):
            spec = selection.phase_for(data[0])
            if spec.name not in completed:
                continue
            built = fuzz_connection.get_phase(spec)
            built.snapshot.restore()
            before = built.conn.kex.count
            fuzz_connection.run_on(built, data)
            completed[spec.name] += built.conn.kex.count > before
    assert all(completed.values()), completed


@given(st.binary(max_size=64), st.data())
def test_codec_boolean_difference_check_is_the_bytewise_rule(original: bytes, data: st.DataObject) -> None:
    """The C-level difference scan decides exactly like comparing byte by byte."""
    encoded = bytearray(original)
    for i in data.draw(st.lists(st.integers(0, max(0, len(original) - 1)), max_size=4)) if original else ():
        encoded[i] = data.draw(st.sampled_from([0, 1, 2, 0xFF]))
    if data.draw(st.booleans()):
        encoded += b"\x01"
    naive = len(original) == len(encoded) and all(
        a == b or (a > 1 and b == 1) for a, b in zip(original, encoded, strict=True)
    )
    assert fuzz_codec._same_but_booleans(original, bytes(encoded)) == naive


def test_codec_primitives_read_at_most_max_fields() -> None:
    """A long run of fields is read up to MAX_FIELDS and round-trips over what was read."""
    field = b"\x00" + struct.pack(">I", 0)  # tag 0 (string), empty string
    fuzz_codec._check_primitives(field * (fuzz_codec.MAX_FIELDS * 10))  # no OracleViolation
    fuzz_codec._check_primitives(field * 3 + b"\x00")  # a truncated last field: DecodeError, ignored
