"""Seed extraction: fuzz corpora and the dictionary from the recorded real sessions.

Run ``python -m harness.fuzz.seeds`` (or ``harness fuzz --seeds``) after re-recording the
transcripts. Each transcript under ``corpus/transcripts`` is replayed with a packet observer
(``Connection.packet_observer`` sees every payload, both directions, decrypted and
decompressed, with the decode contexts current at that moment), and every target gets inputs
in its own format:

- ``corpus/codec``: each distinct message (a few per type and context) with its context byte,
  plus a default instance of every message type of every table that the sessions never carried;
- ``corpus/packet``: the peers' identification lines and packets under several protections and
  chunkings, in every stream mode;
- ``corpus/connection`` (and ``connection_dh`` for the slow phases): per phase, the packets the
  real peer sent next (so the fuzzer starts from a conversation that works and mutates it),
  plus every message type in key phases;
- ``corpus/keys``: the real host keys, their signatures over real exchange hashes, generated
  key files in every format we read, known_hosts and authorized_keys lines;
- ``corpus/dictionaries/ssh.dict``: algorithm, request, channel and method names (bare and
  length-prefixed), identification-line pieces and message framing.

Outputs are deterministic (seeded keys, content-hash file names), so re-running changes
nothing unless the transcripts or the message tables changed. Seeds are few and small on
purpose (git); campaign corpora live in ``results/fuzz/``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import struct
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.fuzz import fuzz_codec, fuzz_connection, fuzz_keys, fuzz_packet
from harness.fuzz.common import FEED_BYTES, FEED_CHUNKS, FEED_WHOLE, join_records
from harness.resources import data_root
from harness.ssh.kex.methods import KEX_METHODS
from harness.ssh.phases import Role
from harness.ssh.wire import messages as m
from harness.ssh.wire.message import Message
from harness.transcript import Transcript

ROOT = data_root()  # the checkout, or the installed wheel's copy of corpus/
CORPUS = ROOT / "corpus"
TRANSCRIPTS = CORPUS / "transcripts"
# At most this many distinct payloads per (message type, context, direction): enough variety
# (different algorithm lists, key types) without thousands of near-identical files.
PER_KIND = 3
# Largest payload kept as a seed (sntrup761 replies are ~1.1 KiB; bulk data is not interesting).
MAX_SEED_PAYLOAD = 4096


@dataclass(frozen=True)
class Observed:
    direction: str
    seq: int
    payload: bytes
    kex_context: str | None
    auth_context: str | None


@dataclass
class Session:
    name: str  # "openssh/kex-curve25519-sha256"
    transcript: Transcript
    packets: list[Observed]
    banner: bytes
    host_key: bytes | None
    host_key_algorithm: str | None
    signature: bytes | None
    exchange_hash: bytes | None


def observe(path: Path) -> Session:
    transcript = Transcript.load(path)
    packets: list[Observed] = []
    observer = _ContextObserver(packets)
    conn = fuzz_connection.drive(transcript, None, observer, on_start=observer.bind)
    reply = None
    for p in reversed(packets):
        if p.direction == "in" and p.payload[:1] in (b"\x1f", b"\x21") and p.kex_context is not None:
            reply = m.decode_message(p.payload, p.kex_context)
            break
    return Session(
        name=f"{path.parent.name}/{path.stem}",
        transcript=transcript,
        packets=packets,
        banner=transcript.banner.encode() + b"\r\n",
        host_key=getattr(reply, "host_key", None),
        host_key_algorithm=conn.kex.host_key_algorithm,
        signature=getattr(reply, "signature", None),
        exchange_hash=conn.kex.exchange_hash,
    )


class _ContextObserver:
    """A packet observer that also records the decode contexts current for each packet."""

    def __init__(self, packets: list[Observed]) -> None:
        self.packets = packets
        self.conn: fuzz_connection.Connection | None = None

    def bind(self, conn: fuzz_connection.Connection) -> None:
        self.conn = conn

    def __call__(self, direction: str, seq: int, payload: bytes) -> None:
        conn = self.conn
        kctx = conn.kex.context if conn is not None else None
        actx = conn.auth.context if conn is not None else None
        self.packets.append(Observed(direction, seq, bytes(payload), kctx, actx))


def sessions() -> list[Session]:
    return [observe(p) for p in sorted(TRANSCRIPTS.glob("*/*.json"))]


# -- writing ---------------------------------------------------------------------------------------


class SeedWriter:
    """Collects seeds per target; file names are a label plus a content hash (idempotent)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.seeds: dict[str, dict[str, bytes]] = defaultdict(dict)

    def add(self, target: str, label: str, data: bytes) -> None:
        digest = hashlib.sha1(data).hexdigest()[:12]
        label = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)[:60]
        existing = self.seeds[target]
        if any(v == data for v in existing.values()):
            return
        existing[f"{label}-{digest}"] = data

    def add_kept(self, target: str, label: str, make: Callable[[], bytes]) -> None:
        """Like :meth:`add`, but reuse an existing file of that label (random keys stay stable)."""
        label = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)[:60]
        folder = self.root / target
        old = sorted(folder.glob(f"{label}-*")) if folder.is_dir() else []
        data = old[0].read_bytes() if old else make()
        self.add(target, label, data)

    def write(self, prune: bool = True) -> dict[str, int]:
        counts = {}
        for target, seeds in self.seeds.items():
            folder = self.root / target
            folder.mkdir(parents=True, exist_ok=True)
            if prune:
                for old in folder.iterdir():
                    if old.is_file() and old.name not in seeds:
                        old.unlink()
            for name, data in seeds.items():
                path = folder / name
                if not path.exists() or path.read_bytes() != data:
                    path.write_bytes(data)
            counts[target] = len(seeds)
        return counts


# -- codec -----------------------------------------------------------------------------------------


def _kind(payload: bytes, kctx: str | None, actx: str | None) -> str:
    try:
        msg = m.decode_message(payload, kctx, actx)
    except Exception:
        return f"raw{payload[0] if payload else -1}"
    return msg.NAME


def default_message(cls: type[Message]) -> bytes:
    """A small valid instance of ``cls``: defaults, empty texts made "x", generic names unknown."""
    msg = cls()
    disc = _discriminator(cls)
    for name, _ in cls.FIELDS:
        if getattr(msg, name) == "" and name not in (disc, "language"):
            setattr(msg, name, "x")
    if disc is not None and cls.SUBTYPE is None:
        setattr(msg, disc, "x-unknown@example.com")
    return msg.encode()


def _discriminator(cls: type[Message]) -> str | None:
    for base in cls.__mro__:
        by = getattr(base, "DISCRIMINATED_BY", None)
        if by:
            return by
    return None


def codec_seeds(writer: SeedWriter, all_sessions: list[Session]) -> None:
    counts: dict[tuple[str, str | None, str | None, str], int] = defaultdict(int)
    for session in all_sessions:
        for p in session.packets:
            if len(p.payload) > MAX_SEED_PAYLOAD:
                continue
            kind = _kind(p.payload, p.kex_context, p.auth_context)
            key = (kind, p.kex_context, p.auth_context, p.direction)
            if counts[key] >= PER_KIND:
                continue
            counts[key] += 1
            selector = fuzz_codec.selector_for(p.kex_context, p.auth_context)
            writer.add("codec", f"{p.direction}-{kind}", bytes([selector]) + p.payload)
    for cls, kctx, actx in m.every_message_class():
        writer.add("codec", f"synth-{cls.NAME}", bytes([fuzz_codec.selector_for(kctx, actx)]) + default_message(cls))
    # The primitive readers: a name-list, an mpint, a field sequence.
    writer.add("codec", "prim-namelist", b"\xf0curve25519-sha256,ext-info-c")
    writer.add("codec", "prim-mpint", b"\xf0\x00\x80\x01")
    writer.add("codec", "prim-fields", b"\xf0\x00\x00\x00\x00\x03abc\x01\x00\x00\x00\x01\x7f"
                                        b"\x02\x00\x00\x00\x03a,b\x03\x00\x00\x00\x02\xc3\xa9")  # fmt: skip


# -- packet ----------------------------------------------------------------------------------------

# (cipher, mac) combinations used for seeds; the fuzzer reaches the others by flipping the bytes.
_PACKET_PROTECTIONS = (
    ("none", "none"),
    ("chacha20-poly1305@openssh.com", "none"),
    ("aes256-gcm@openssh.com", "none"),
    ("aes128-ctr", "hmac-sha2-256"),
    ("aes256-cbc", "hmac-sha2-512-etm@openssh.com"),
    ("3des-cbc", "hmac-md5-96"),
    ("aes192-ctr", "hmac-sha1-etm@openssh.com"),
)


def _packet_header(cipher: str, mac: str, flags: int, sizes: bytes = b"\x0f\x3f\x07\xff") -> bytes:
    ci = fuzz_packet.CIPHER_NAMES.index(cipher)
    mi = fuzz_packet.MAC_NAMES.index(mac)
    return bytes([ci, mi, flags]) + sizes


def packet_seeds(writer: SeedWriter, all_sessions: list[Session]) -> None:
    from harness.ssh.crypto import protection as prot
    from harness.ssh.packet.framing import PacketWriter

    banners: dict[bytes, str] = {}
    for s in all_sessions:
        banners.setdefault(s.banner, s.name)
    banner_list = list(banners)
    for index, session in enumerate(all_sessions[:: max(1, len(all_sessions) // 8)]):
        incoming = [p.payload for p in session.packets if p.direction == "in" and len(p.payload) <= MAX_SEED_PAYLOAD]
        first = incoming[:3]
        cipher, mac = _PACKET_PROTECTIONS[index % len(_PACKET_PROTECTIONS)]
        records = [session.banner, *first]
        writer.add("packet", f"roundtrip-{cipher}", _packet_header(cipher, mac, 0) + join_records(records))
        writer.add("packet", f"roundtrip-bytes-{cipher}",
                   _packet_header(cipher, mac, FEED_BYTES) + join_records([session.banner, *incoming[:1]]))  # fmt: skip
        zlib_flags = FEED_CHUNKS | fuzz_packet.FLAG_ZLIB
        header = _packet_header(cipher, mac, zlib_flags)
        writer.add("packet", f"roundtrip-zlib-{cipher}", header + join_records(records))
        plain = PacketWriter(prot.null_sealer(), bytes)  # zero padding: bytes(n)
        packets = [plain.frame(p) for p in first]
        writer.add("packet", f"sealed-{cipher}",
                   _packet_header(cipher, mac, 4 | FEED_CHUNKS) + join_records([session.banner, *packets]))  # fmt: skip
        padded = [bytes([4 + (8 - (5 + len(p) + 4) % 8) % 8]) + p for p in first]
        writer.add("packet", f"padding-{cipher}",
                   _packet_header("none", "none", 12) + join_records([session.banner, *padded]))  # fmt: skip
    # The real byte streams, raw: identification line and the plaintext first kex.
    for session in all_sessions[:4]:
        raw = bytes.fromhex("".join(session.transcript.steps[0].incoming))
        cut = raw[:2048]
        writer.add("packet", f"raw-{session.name}", _packet_header("none", "none", 8 | FEED_CHUNKS)
                   + join_records([cut[: len(session.banner)], cut[len(session.banner) :]]))  # fmt: skip
    # Identification-line variants (pre-banner lines, 1.99, comments, bare LF, limits).
    lines = [
        b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n",
        b"SSH-1.99-Cisco-1.25\r\n",
        b"SSH-2.0-dropbear_2022.83\n",
        b"Welcome to the server\r\nsecond line\r\nSSH-2.0-x\r\n",
        b"SSH-2.0-" + b"a" * 244 + b"\r\n",
        b"SSH-1.5-old\r\n",
        *banner_list[:2],
    ]
    for i, line in enumerate(lines):
        writer.add("packet", f"version-{i}", _packet_header("none", "none", 8) + join_records([line]))
        writer.add("packet", f"version-server-{i}",
                   _packet_header("none", "none", 8 | fuzz_packet.FLAG_SERVER_READER | FEED_BYTES)
                   + join_records([line]))  # fmt: skip


# -- connection ------------------------------------------------------------------------------------


def _incoming(packets: Iterable[Observed]) -> list[bytes]:
    return [p.payload for p in packets if p.direction == "in"]


def connection_seeds(writer: SeedWriter, all_sessions: list[Session]) -> None:

    by_name = {s.name + ".json": s for s in all_sessions}
    # The server phases' peer is our own scripted client: everything it sends in a full session.
    client_out: list[bytes] = []
    first_server = next(p for p in fuzz_connection.PHASES if p.role is Role.SERVER)
    def record(direction: str, seq: int, payload: bytes) -> None:
        if direction == "out":
            client_out.append(payload)

    fuzz_connection.drive_pair(first_server, client_observer=record, full=True)
    for spec in fuzz_connection.PHASES:
        target = "connection_dh" if spec.slow else "connection"
        # Which incoming packets were processed before the phase's point: drive there with a
        # counting observer, then take what the real peer sent next.
        seen: list[bytes] = []
        counter = lambda d, s, p, seen=seen: seen.append(p) if d == "in" else None  # noqa: E731
        if spec.role is Role.SERVER:
            fuzz_connection.drive_pair(spec, counter)
            peer_sent, banner = client_out, b"SSH-2.0-harness_0.1\r\n"
        else:
            session = by_name[spec.transcript]
            fuzz_connection.drive(session.transcript, spec, counter)
            peer_sent, banner = _incoming(session.packets), session.banner
        rest = [p for p in peer_sent[len(seen) :] if len(p) <= MAX_SEED_PAYLOAD]
        head = [banner] if spec.after is None and spec.steps == 0 else []
        modes = [("", FEED_WHOLE)]
        if spec.role is Role.CLIENT:
            modes.append(("app-", FEED_WHOLE | fuzz_connection.MODE_APP))
        for n in (1, 2, 4, 8, 16):
            if len(rest) >= n or n == 1:
                records = head + rest[:n]
                for label, mode in modes:
                    writer.add(target, f"{spec.name}-{label}next{n}", bytes([spec.code, mode]) + b"\x0f\x3f\x07\xff"
                               + join_records(records))  # fmt: skip
        records = head + rest[:6]
        for mode, label in ((FEED_BYTES, "bytes"), (FEED_CHUNKS, "chunks"), (fuzz_connection.FEED_BATCH, "batch")):
            writer.add(target, f"{spec.name}-{label}",
                       bytes([spec.code, mode]) + b"\x05\x0d\x02\x3f" + join_records(records))  # fmt: skip
        # Every message type once, in the key phases (the phase gate decides what is allowed).
        if spec.name in ("kexinit", "auth-password", "auth-kbdint", "connected", "rekey", "server-kexinit",
                         "server-userauth", "server-auth-kbdint", "server-connected"):
            for cls, kctx, actx in m.every_message_class():
                if kctx not in (None, "ecdh") or (actx is not None and actx != _phase_auth(spec)):
                    continue
                writer.add(target, f"{spec.name}-synth-{cls.NAME}",
                           bytes([spec.code, FEED_WHOLE]) + b"\x00\x00\x00\x00"
                           + join_records([*head, default_message(cls)]))  # fmt: skip


def _phase_auth(spec: fuzz_connection.PhaseSpec) -> str | None:
    return {"auth-password": "password", "auth-kbdint": "keyboard-interactive",
            "server-auth-kbdint": "keyboard-interactive"}.get(spec.name)  # fmt: skip


# -- keys ------------------------------------------------------------------------------------------


def _u16(data: bytes) -> bytes:
    return struct.pack(">H", len(data)) + data


def _key_files() -> list[tuple[str, Callable[[], bytes], bool]]:
    """(label, maker of the file bytes, needs the passphrase): every format load_private_key reads.

    Ed25519 and ECDSA keys come from fixed secrets; RSA and DSA keys need primes, so they are
    generated once and then kept (``SeedWriter.add_kept``).
    """
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa

    fixed = {
        "ed25519": lambda: ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32))),
        "ecdsa256": lambda: ec.derive_private_key(123456789, ec.SECP256R1()),
        "ecdsa384": lambda: ec.derive_private_key(987654321, ec.SECP384R1()),
        "rsa1024": lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024),
        "dsa1024": lambda: dsa.generate_private_key(key_size=1024),
    }
    # bcrypt-pbkdf with 1 round: an encrypted seed must not cost 100 ms per execution.
    fast = ser.PrivateFormat.OpenSSH.encryption_builder().kdf_rounds(1).build(fuzz_keys.PASSPHRASE)
    pem, none = ser.Encoding.PEM, ser.NoEncryption()
    formats = {
        "openssh": (ser.PrivateFormat.OpenSSH, none, False),
        "openssh-enc": (ser.PrivateFormat.OpenSSH, fast, True),
        "pkcs8": (ser.PrivateFormat.PKCS8, none, False),
        "traditional": (ser.PrivateFormat.TraditionalOpenSSL, none, False),
        "traditional-enc": (ser.PrivateFormat.TraditionalOpenSSL,
                            ser.BestAvailableEncryption(fuzz_keys.PASSPHRASE), True),
    }
    out: list[tuple[str, Callable[[], bytes], bool]] = []
    for key_name, make_key in fixed.items():
        for fmt_name, (fmt, enc, needs) in formats.items():
            if fmt_name == "traditional" and key_name == "ed25519":
                continue  # no traditional PEM form for Ed25519

            def make(make_key=make_key, fmt=fmt, enc=enc) -> bytes:  # type: ignore[no-untyped-def]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # DSA is deprecated; these seeds test its parser anyway
                    return make_key().private_bytes(pem, fmt, enc)

            if fmt_name == "traditional-enc" and key_name == "ed25519":
                continue
            out.append((f"private-{fmt_name}-{key_name}", make, needs))
    return out


def keys_seeds(writer: SeedWriter, all_sessions: list[Session]) -> None:
    blobs: dict[bytes, Session] = {}
    for s in all_sessions:
        if s.host_key is not None:
            blobs.setdefault(s.host_key, s)
    for blob, s in blobs.items():
        key_type = blob[4 : 4 + int.from_bytes(blob[:4], "big")].decode()
        writer.add("keys", f"blob-{key_type}", bytes([fuzz_keys.BLOB]) + blob)
        if s.signature is not None and s.exchange_hash is not None and s.host_key_algorithm:
            alg = fuzz_keys.ALGORITHMS.index(s.host_key_algorithm)
            writer.add("keys", f"sig-{s.host_key_algorithm}", bytes([fuzz_keys.SIGNATURE, alg]) + _u16(blob)
                       + _u16(s.signature) + s.exchange_hash)  # fmt: skip
        b64 = base64.b64encode(blob).decode()
        lines = [
            f"example.com,192.0.2.1 {key_type} {b64}",
            f"[127.0.0.1]:2222 {key_type} {b64} comment here",
            f"*.example.com,!bad.example.com,host?? {key_type} {b64}",
            f"|1|{base64.b64encode(bytes(20)).decode()}|{base64.b64encode(bytes(range(20))).decode()} {key_type} {b64}",
            f"@revoked * {key_type} {b64}",
            f"@cert-authority *.example.com {key_type} {b64}",
            f"# comment\n\nexample.com {key_type} {b64}\nbadline\n",
        ]
        for i, line in enumerate(lines):
            writer.add("keys", f"known_hosts-{key_type}-{i}", bytes([fuzz_keys.KNOWN_HOSTS]) + line.encode())
        for i, line in enumerate((f"{key_type} {b64} user@host",
                                  f'command="echo hi there",no-pty,from="10.0.0.0/8" {key_type} {b64} c',
                                  f"restrict {key_type} {b64}")):  # fmt: skip
            writer.add("keys", f"authorized-{key_type}-{i}", bytes([fuzz_keys.AUTHORIZED_KEY]) + line.encode())
    for label, make, encrypted in _key_files():
        prefix = bytes([fuzz_keys.PRIVATE_FILE, int(encrypted)])
        writer.add_kept("keys", label, lambda make=make, prefix=prefix: prefix + make())


# -- sftp ------------------------------------------------------------------------------------------

# Largest recorded server stream kept as one session seed (the target's max_len is 16 KiB).
MAX_SFTP_SESSION = 12288


class _RecordingChannel:
    """An SFTP channel that keeps a copy of every byte each way (the SFTP stream, unframed by SSH).

    Why a wrapper and not a transcript: the SSH transcripts record the SSH layer; for SFTP seeds
    only the subsystem's byte stream matters, and the real client drives the session exactly as
    it would in use. Everything but the two data calls is the channel's own.
    """

    def __init__(self, channel: object) -> None:
        self._channel = channel
        self.sent = bytearray()
        self.received = bytearray()

    def recv_into(self, buffer: memoryview) -> int:
        n = self._channel.recv_into(buffer)  # type: ignore[attr-defined]
        self.received += bytes(buffer[:n])
        return int(n)

    def sendall(self, data: bytes) -> None:
        self.sent += data
        self._channel.sendall(data)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._channel, name)


def _sftp_script(group: str, client: object, base: str) -> None:
    """One group of real operations (each group is one SFTP session and one session seed)."""
    from harness.ssh.sftp import SFTPAttributes

    sftp: Any = client  # harness.sftp_client.SFTPClient
    ops: list[Callable[[], object]] = []
    if group == "listing":
        ops = [lambda: sftp.normalize("."), lambda: sftp.listdir_attr(base), lambda: sftp.stat(base),
               lambda: sftp.lstat(f"{base}/link"), lambda: sftp.readlink(f"{base}/link")]  # fmt: skip
    elif group == "files":

        def write_read() -> None:
            with sftp.open(f"{base}/new.txt", "w") as fh:
                fh.write(b"written over SFTP\n" * 20)
            with sftp.open(f"{base}/new.txt", "r") as fh:
                fh.stat()
                fh.read()
            with sftp.open(f"{base}/data.bin", "r") as fh:
                fh.read()

        ops = [write_read, lambda: sftp.truncate(f"{base}/new.txt", 5), lambda: sftp.chmod(f"{base}/new.txt", 0o600),
               lambda: sftp.utime(f"{base}/new.txt", (1_700_000_000, 1_700_000_001))]  # fmt: skip
    elif group == "tree":
        ops = [lambda: sftp.mkdir(f"{base}/d"), lambda: sftp.rename(f"{base}/new.txt", f"{base}/d/r.txt"),
               lambda: sftp.symlink("r.txt", f"{base}/d/s"), lambda: sftp.rmdir(f"{base}/d")]  # fmt: skip
    elif group == "extensions":

        def with_handle() -> None:
            with sftp.open(f"{base}/data.bin", "r+") as fh:
                fh.statvfs()
                fh.fsync()

        ops = [lambda: sftp.statvfs(base), with_handle, lambda: sftp.expand_path("~"),
               lambda: sftp.hardlink(f"{base}/data.bin", f"{base}/hard"),
               lambda: sftp.posix_rename(f"{base}/hard", f"{base}/hard2"),
               lambda: sftp.lsetstat(f"{base}/link", SFTPAttributes(st_atime=1, st_mtime=2))]  # fmt: skip
    elif group == "errors":
        ops = [lambda: sftp.stat(f"{base}/missing"), lambda: sftp.open(f"{base}/missing/x", "r"),
               lambda: sftp.remove(f"{base}/missing"), lambda: sftp.mkdir(base),
               lambda: sftp.rmdir(f"{base}/data.bin"), lambda: sftp.listdir(f"{base}/data.bin"),
               lambda: sftp.readlink(f"{base}/data.bin")]  # fmt: skip
    for op in ops:
        try:
            op()
        except OSError:
            pass  # a failing STATUS is as good a seed as a success


SFTP_GROUPS = ("listing", "files", "tree", "extensions", "errors")


def record_sftp_sessions(peer_ids: Iterable[str] = ("openssh-9.2", "dropbear-2022.83", "openssh-10.0"),
                         launcher: str = "docker") -> list[tuple[str, bytes, bytes]]:  # fmt: skip
    """Run the SFTP script groups against real servers; (label, client stream, server stream) each.

    Every group is its own SFTP session (its own channel, so its own VERSION and request ids
    from 0) in a fresh directory of the test user's home.
    """
    import tempfile

    from harness.interop import connect
    from harness.peers.registry import start_peer
    from harness.sftp_client import SFTPClient

    out: list[tuple[str, bytes, bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for peer_id in peer_ids:
            with start_peer(peer_id, launcher, Path(tmp) / peer_id) as server:
                info = server.info
                home = info.home
                transport = connect(info)
                try:
                    for group in SFTP_GROUPS:
                        base = f"seed-{group}"
                        if home is not None:
                            folder = home / base
                            folder.mkdir()
                            (folder / "data.bin").write_bytes(bytes(range(256)) * 12)
                            (folder / "a.txt").write_text("a\n")
                            (folder / "link").symlink_to("a.txt")
                            stat = home.stat()
                            for path in (folder, folder / "data.bin", folder / "a.txt"):
                                os.chown(path, stat.st_uid, stat.st_gid)
                            os.lchown(folder / "link", stat.st_uid, stat.st_gid)
                        chan = transport.open_session()
                        chan.invoke_subsystem("sftp")
                        recording = _RecordingChannel(chan)
                        client = SFTPClient(recording)  # type: ignore[arg-type]
                        try:
                            _sftp_script(group, client, base)
                        finally:
                            client.close()
                        out.append((f"{peer_id}-{group}", bytes(recording.sent), bytes(recording.received)))
                finally:
                    transport.close()
    return out


def _sftp_packets(stream: bytes) -> list[bytes]:
    bodies, pos = [], 0
    while pos + 4 <= len(stream):
        n = struct.unpack_from(">I", stream, pos)[0]
        if pos + 4 + n > len(stream):
            break
        bodies.append(stream[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return bodies


def sftp_seeds(writer: SeedWriter, recordings: list[tuple[str, bytes, bytes]]) -> None:
    """Seeds from recorded SFTP sessions: every packet for the codecs, every session for the protocol.

    The session seed's plan lists the requests the real client sent, in order (so the request
    ids, the READ lengths and the extension of each EXTENDED_REPLY match what the server
    answered); the stream is what the server sent, VERSION first.
    """
    from harness.fuzz import fuzz_sftp
    from harness.ssh.sftp import packets as sp

    per_label: dict[str, int] = defaultdict(int)

    def add(label: str, data: bytes) -> None:
        if per_label[label] < PER_KIND:  # a few of each kind, not every STATUS of every session
            before = len(writer.seeds["sftp"])
            writer.add("sftp", label, data)
            per_label[label] += len(writer.seeds["sftp"]) - before

    for label, sent, received in recordings:
        requests = _sftp_packets(sent)
        replies = _sftp_packets(received)
        by_id: dict[int, tuple[int, str | None, int]] = {}
        plan = bytearray()
        for body in requests[1:]:  # after INIT
            request = sp.decode_request(body)
            extension = getattr(request, "request", None) if request.ID == sp.T.EXTENDED else None
            length = getattr(request, "length", 0) if request.ID == sp.T.READ else 0
            by_id[request.request_id] = (request.ID, extension, length)
            plan += fuzz_sftp.plan_entry(request.ID, extension, length)
            name = sp.packet_name(body[0]) + (f"_{extension}" if extension else "")
            add(f"sftp-request-{name}", bytes([fuzz_sftp.MODE_REQUEST]) + body)
        if requests:
            add("sftp-request-FXP_INIT", bytes([fuzz_sftp.MODE_REQUEST]) + requests[0])
        for body in replies:
            request_id = struct.unpack_from(">I", body, 1)[0] if len(body) >= 5 and body[0] != sp.T.VERSION else -1
            extension = by_id.get(request_id, (0, None, 0))[1]
            context = fuzz_sftp.EXT_CONTEXTS.index(extension) if extension in fuzz_sftp.EXT_CONTEXTS else 0
            name = sp.packet_name(body[0]) + (f"_{extension}" if extension else "")
            add(f"sftp-reply-{name}", bytes([fuzz_sftp.MODE_RESPONSE, context]) + body)
        stream = received[:MAX_SFTP_SESSION]
        for feed, sizes in ((FEED_CHUNKS, b"\x0f\x3f\x07\xff"), (FEED_BYTES | 0x10, b"\x02\x05\x00\x40")):
            writer.add("sftp", f"sftp-session-{label}", fuzz_sftp.session_input(bytes(plan), stream, feed, sizes))


# -- dictionary ------------------------------------------------------------------------------------


def _dict_entry(value: bytes) -> str:
    body = "".join(chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else f"\\x{b:02x}" for b in value)
    return f'"{body}"'


def dictionary_entries() -> list[bytes]:
    from harness.ssh.crypto import compression as comp
    from harness.ssh.crypto import protection as prot
    from harness.ssh.kex.negotiate import KEX_PSEUDO_ALGORITHMS
    from harness.ssh.keys import SUPPORTED_HOST_KEY_ALGORITHMS

    names: set[str] = set()
    names.update(KEX_METHODS, KEX_PSEUDO_ALGORITHMS, prot.CIPHERS, prot.MACS, comp.COMPRESSIONS)
    names.update(SUPPORTED_HOST_KEY_ALGORITHMS, ("nistp256", "nistp384", "nistp521", "rsa-sha2-384"))
    for cls in m.GENERIC_TABLE.values():
        names.update(cls.SUBTYPES)  # auth methods, channel types, request names
    names.update(("ssh-userauth", "ssh-connection", "server-sig-algs", "publickey-hostbound@openssh.com",
                  "ping@openssh.com", "delay-compression", "no-flow-control", "elevation", "sftp",
                  "hostkeys-prove-00@openssh.com", "auth-agent-req@openssh.com", "exit-signal", "TERM",
                  "xterm-256color"))  # fmt: skip
    entries: list[bytes] = []
    for name in sorted(names):
        raw = name.encode()
        entries += [raw, struct.pack(">I", len(raw)) + raw]
    entries += [b"SSH-2.0-", b"SSH-1.99-", b"\r\n", b"OpenSSH_9.2p1", b"dropbear_2022.83",
                b"\x00\x00\x00\x00", b"\x00\x00\x00\x01", b"\x00\x00\x00\x0c", b"\x00\x00\x00\x10",
                b"\x00\x00\x00\x20", b"\xff\xff\xff\xff", b"\x00\x04\x00\x00", b"\x7f\xff\xff\xff",
                b"\x00\x00\x80\x00", b"\x00\x20\x00\x00", b"\x00\x00\x00\x00\x00\x00\x00\x00"]  # fmt: skip
    # Message numbers as a byte followed by a typical first field (recipient channel 0).
    for num in sorted(m.MESSAGE_NAMES):
        entries.append(bytes([num]) + b"\x00\x00\x00\x00")
    return entries + sftp_dictionary_entries()


def sftp_dictionary_entries() -> list[bytes]:
    """SFTP words: extension names (bare and as strings), packet types with a request id, status
    codes and ATTRS flag words, and the VERSION header (the sftp target's formats, docs/FUZZING.md)."""
    from harness.ssh.sftp import constants as sc

    entries: list[bytes] = []
    names = [v for k, v in vars(sc).items() if k.startswith("EXT_") and isinstance(v, str)]
    for name in sorted(names):
        raw = name.encode()
        entries += [raw, struct.pack(">I", len(raw)) + raw]
    for packet_type in sc.PacketType:
        entries.append(bytes([packet_type]) + b"\x00\x00\x00\x00")
    entries += [struct.pack(">I", int(code)) for code in sc.Status if code > 1 and code not in (4, 16, 32)]
    entries += [struct.pack(">I", int(flag)) for flag in (sc.AttrFlag.EXTENDED, sc.KNOWN_ATTR_FLAGS, 0x0F)]
    entries += [b"\x02\x00\x00\x00\x03", b"\x00\x04\x00\x00", b"\x00\x03\xfc\x00"]  # VERSION 3, 256 KiB, 255 KiB
    return entries


def write_dictionary(path: Path) -> int:
    entries = dictionary_entries()
    lines = ["# SSH dictionary for libFuzzer (-dict): generated by `python -m harness.fuzz.seeds`.",
             "# Algorithm, method, request and channel names, bare and as SSH strings; framing pieces."]  # fmt: skip
    lines += [_dict_entry(e) for e in entries]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return len(entries)


# -- main ------------------------------------------------------------------------------------------


def extract(root: Path = CORPUS, targets: Iterable[str] | None = None) -> dict[str, int]:
    """Write the seeds of ``targets`` (all by default) under ``root``; returns counts per target."""
    wanted = set(targets or ("codec", "packet", "connection", "keys"))
    all_sessions = sessions()
    writer = SeedWriter(root)
    if "codec" in wanted:
        codec_seeds(writer, all_sessions)
    if "packet" in wanted:
        packet_seeds(writer, all_sessions)
    if "connection" in wanted or "connection_dh" in wanted:
        connection_seeds(writer, all_sessions)
    if "keys" in wanted:
        keys_seeds(writer, all_sessions)
    counts = writer.write()
    counts["dictionary"] = write_dictionary(root / "dictionaries" / "ssh.dict")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.fuzz.seeds", description=__doc__.split("\n")[0])
    parser.add_argument("targets", nargs="*", help="targets to extract (default: all)")
    parser.add_argument("--out", default=str(CORPUS), help="corpus root (default: corpus/)")
    parser.add_argument("--record-sftp", nargs="*", metavar="PEER",
                        help="record SFTP sessions against these container peers (default: OpenSSH 9.2 and "
                             "10.0, Dropbear 2022.83) and rewrite corpus/sftp from them")  # fmt: skip
    args = parser.parse_args(argv)
    if args.record_sftp is not None:
        writer = SeedWriter(Path(args.out))
        peers = args.record_sftp or ("openssh-9.2", "dropbear-2022.83", "openssh-10.0")
        sftp_seeds(writer, record_sftp_sessions(peers))
        print(f"sftp         {writer.write()['sftp']}")
        return 0
    counts = extract(Path(args.out), args.targets or None)
    for target, n in counts.items():
        print(f"{target:12} {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
