"""Fuzzing the sans-I/O core: atheris targets, seeds, campaigns and replay.

Every target is a module ``harness.fuzz.fuzz_<name>`` with one entry point,
``fuzz_one_input(data: bytes) -> None``, which is plain Python: libFuzzer (through atheris)
calls it in a campaign, the test suite calls it on every seed and regression input and on
hypothesis-generated inputs. Each target states its *oracle*, the property whose violation is
a bug: any exception that escapes ``fuzz_one_input`` is one (the targets catch exactly what
the code under test is allowed to raise and turn other broken promises into
:class:`~harness.fuzz.common.OracleViolation`).

This package's ``__init__`` stays import-light on purpose: atheris only instruments modules
imported inside ``atheris.instrument_imports()``, so nothing of ``harness.ssh`` may be
imported before a target module opens that block.

See docs/FUZZING.md for running a campaign, reading a crash and adding a target.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TargetInfo:
    """One fuzz target: where it lives and what it promises."""

    name: str
    module: str
    summary: str
    oracle: str
    max_len: int  # libFuzzer -max_len: large enough for the biggest real seed of the target


TARGETS: dict[str, TargetInfo] = {
    t.name: t
    for t in (
        TargetInfo(
            "codec",
            "harness.fuzz.fuzz_codec",
            "wire codec: every message type under every kex/auth decode context, plus the primitive readers",
            "only DecodeError; whatever decodes re-encodes to the same bytes (booleans other than 0/1 "
            "normalise to 1, RFC 4251), decodes again to an equal message, and has a repr",
            8192,
        ),
        TargetInfo(
            "packet",
            "harness.fuzz.fuzz_packet",
            "identification line and binary packets under no cipher and every cipher x MAC (fixed keys), "
            "with and without zlib, fed whole, byte by byte and in fuzzer-chosen chunks",
            "only the promised RemoteProtocolError subclasses; framed payloads come back unchanged "
            "under every protection and chunking; the reader never buffers more than it was fed",
            16384,
        ),
        TargetInfo(
            "connection",
            "harness.fuzz.fuzz_connection",
            "the connection state machine, per role and phase (snapshots made by replaying recorded "
            "transcripts), fuzzed packets sealed with the keys the connection expects",
            "receive_data raises nothing or RemoteProtocolError; after one the connection is closed, the "
            "last packet it sent is a DISCONNECT with the error's reason, and it sends nothing more",
            16384,
        ),
        TargetInfo(
            "connection_dh",
            "harness.fuzz.fuzz_connection_dh",
            "the connection target in the finite-field Diffie-Hellman kex phases (group14, group exchange), "
            "whose big-integer arithmetic costs milliseconds per input",
            "as for connection",
            16384,
        ),
        TargetInfo(
            "keys",
            "harness.fuzz.fuzz_keys",
            "public key blobs, signature blobs (against real host keys), OpenSSH/PEM private key files, "
            "known_hosts and authorized_keys lines",
            "only the documented errors (DecodeError; BadKeyFile / PasswordRequiredException for key files); "
            "parsed keys and lines serialise back to what parses equal",
            8192,
        ),
        TargetInfo(
            "sftp",
            "harness.fuzz.fuzz_sftp",
            "SFTP v3 packets: the response and request codecs (every packet type, EXTENDED_REPLY per "
            "extension), and the client protocol fed a server stream after real requests, in any chunking",
            "only DecodeError / SFTPProtocolError, and sticky; whatever decodes re-encodes to the same bytes; "
            "the protocol buffers at most one packet of its limit, delivers each complete reply exactly once, "
            "in order and byte-exact, and never a short one",
            16384,
        ),
    )
}

# Targets that have a place but no module yet: name -> what is missing.
PENDING: dict[str, str] = {}
