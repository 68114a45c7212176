"""known_hosts files (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT") and the host key check.

What is honoured, as OpenSSH does it:

- ``[host]:port`` names for ports other than 22 (the lookup name becomes ``[host]:port``);
- hashed names ``|1|base64(salt)|base64(HMAC-SHA1(salt, name))`` as written by ``ssh-keygen -H``;
- comma-separated patterns with ``*`` and ``?`` wildcards and ``!negation`` (a negated match
  excludes the line even when another pattern matches); names compare case-insensitively;
- ``@revoked`` lines: the key is refused for the hosts the line matches, even if another line
  lists it as known;
- ``@cert-authority`` lines are parsed and kept apart (:meth:`HostKeys.cert_authorities`) but
  never trusted as host keys: the harness does not implement host certificates, and treating a
  CA key as a plain host key would accept a server that merely holds the CA's key.

Why bad lines do not raise: a real known_hosts file collects junk over years (old SSH1 lines,
unsupported key types, hand edits). A malformed line is skipped and remembered in
:attr:`HostKeys.errors` as (line number, message), so one bad line never hides the good ones.
The policy for an unknown host is the caller's: :func:`verify_host_key` raises
:class:`UnknownHostKey` (a local-policy error, not a :class:`HostKeyMismatch`: the peer did
nothing wrong) and the caller may catch it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.ssh.errors import DecodeError, HostKeyMismatch, UnknownHostKey
from harness.ssh.keys.public import PublicKey, parse_public_key

MARKERS = ("cert-authority", "revoked")
HASH_MAGIC = "1"  # HASH_MAGIC "|1|" in OpenSSH's hostfile.h: HMAC-SHA1
_SHA1_LEN = 20  # OpenSSH requires salt and digest of exactly the SHA-1 size


class RevokedHostKey(HostKeyMismatch):
    """The offered key is marked ``@revoked`` for this host."""


def host_token(hostname: str, port: int = 22) -> str:
    """The name known_hosts stores: ``host`` on port 22, else ``[host]:port`` (lowercased)."""
    hostname = hostname.lower()
    if port == 22 or hostname.startswith("["):
        return hostname
    return f"[{hostname}]:{port}"


def hash_host(token: str, salt: bytes) -> str:
    """The ``|1|salt|hmac`` form of ``token``; ``salt`` is 20 bytes from the caller's random source."""
    if len(salt) != _SHA1_LEN:
        raise ValueError(f"known_hosts salt must be {_SHA1_LEN} bytes")
    digest = hmac.new(salt, token.encode("utf-8"), hashlib.sha1).digest()
    return f"|{HASH_MAGIC}|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def wildcard_match(pattern: str, name: str) -> bool:
    """``*`` (any run) and ``?`` (one character) matching, in time linear in len(pattern) * len(name).

    Why not a regular expression: translating ``*`` to ``.*`` backtracks exponentially on a
    pattern with many stars that almost matches (a known_hosts line of ``*a*a*a...`` took
    minutes for one lookup; found by the keys fuzz target, corpus/regressions/keys/). This is the
    greedy matcher that only ever backtracks to the last star.
    """
    p = n = 0
    star = -1
    mark = 0
    while n < len(name):
        if p < len(pattern) and pattern[p] in ("?", name[n]):
            p += 1
            n += 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark = p, n
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            n = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def match_patterns(name: str, patterns: tuple[str, ...]) -> bool:
    """OpenSSH's match_hostname: any ``!pattern`` match vetoes, else any plain match wins."""
    name = name.lower()
    positive = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        if wildcard_match(body.lower(), name):
            if negated:
                return False
            positive = True
    return positive


@dataclass(frozen=True)
class HostKeyEntry:
    """One known_hosts line: host patterns (or a hashed name), key, marker and comment."""

    key: PublicKey
    patterns: tuple[str, ...] = ()
    hashed: tuple[bytes, bytes] | None = None  # (salt, HMAC-SHA1 of the name)
    marker: str = ""  # "", "revoked" or "cert-authority"
    comment: str = ""
    lineno: int = 0

    def matches(self, token: str) -> bool:
        """Whether this line applies to the lookup name ``token`` (see :func:`host_token`)."""
        if self.hashed is not None:
            salt, digest = self.hashed
            mine = hmac.new(salt, token.lower().encode("utf-8"), hashlib.sha1).digest()
            return hmac.compare_digest(mine, digest)
        return match_patterns(token, self.patterns)

    def host_field(self) -> str:
        if self.hashed is not None:
            salt, digest = self.hashed
            return f"|{HASH_MAGIC}|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"
        return ",".join(self.patterns)

    def to_line(self) -> str:
        prefix = f"@{self.marker} " if self.marker else ""
        return f"{prefix}{self.host_field()} {self.key.to_openssh_line(self.comment)}"


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise DecodeError(f"not valid base64: {text[:40]!r}") from exc


def _parse_hashed(field: str) -> tuple[bytes, bytes]:
    parts = field.split("|")
    if len(parts) != 4 or parts[0] != "" or parts[1] != HASH_MAGIC:
        raise DecodeError(f"hashed host name is not |1|salt|hash: {field[:60]!r}")
    salt, digest = _b64(parts[2]), _b64(parts[3])
    if len(salt) != _SHA1_LEN or len(digest) != _SHA1_LEN:
        raise DecodeError("hashed host name must have a 20-byte salt and a 20-byte HMAC-SHA1")
    return salt, digest


def parse_line(line: str, lineno: int = 0) -> HostKeyEntry | None:
    """Parse one known_hosts line; None for blank and comment lines, DecodeError if malformed."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    marker = ""
    if text.startswith("@"):
        word, _, text = text.partition(" ")
        marker = word[1:]
        if marker not in MARKERS:
            raise DecodeError(f"unknown marker {word[:40]!r}")
    fields = text.split(None, 3)
    if len(fields) < 3:
        raise DecodeError("expected host patterns, key type and base64 key")
    hosts, key_type, data = fields[:3]
    comment = fields[3].strip() if len(fields) > 3 else ""
    hashed = None
    patterns: tuple[str, ...] = ()
    if hosts.startswith("|"):
        hashed = _parse_hashed(hosts)
    else:
        patterns = tuple(hosts.split(","))
        if any(p in ("", "!") for p in patterns):
            raise DecodeError(f"empty host pattern in {hosts[:60]!r}")
    key = parse_public_key(_b64(data))
    if key.key_type != key_type:
        raise DecodeError(f"line says {key_type[:64]!r} but the key blob is {key.key_type}")
    return HostKeyEntry(key, patterns, hashed, marker, comment, lineno)


class HostKeys:
    """The entries of one or more known_hosts files, with OpenSSH's lookup rules."""

    def __init__(self, filename: str | Path | None = None) -> None:
        self.entries: list[HostKeyEntry] = []
        self.errors: list[tuple[int, str]] = []
        if filename is not None:
            self.load(filename)

    def load(self, filename: str | Path) -> None:
        """Add a file's entries; undecodable bytes and bad lines land in :attr:`errors`."""
        text = Path(filename).read_bytes().decode("utf-8", errors="replace")
        self.load_text(text, source=str(filename))

    def load_text(self, text: str, source: str = "known_hosts") -> None:
        for lineno, line in enumerate(text.splitlines(), start=1):
            try:
                entry = parse_line(line, lineno)
            except DecodeError as exc:
                self.errors.append((lineno, f"{source}:{lineno}: {exc}"))
                continue
            if entry is not None:
                self.entries.append(entry)

    def add(self, hostname: str, key: PublicKey, port: int = 22, *, marker: str = "",
            salt: bytes | None = None, comment: str = "") -> HostKeyEntry:  # fmt: skip
        """Add an entry for ``hostname`` (or a ``[host]:port`` name); hashed when ``salt`` is given."""
        if marker and marker not in MARKERS:
            raise ValueError(f"unknown known_hosts marker {marker!r}")
        token = host_token(hostname, port)
        if salt is not None:
            entry = HostKeyEntry(key, hashed=_parse_hashed(hash_host(token, salt)), marker=marker, comment=comment)
        else:
            entry = HostKeyEntry(key, patterns=(token,), marker=marker, comment=comment)
        self.entries.append(entry)
        return entry

    def _matching(self, hostname: str, port: int, marker: str) -> list[PublicKey]:
        token = host_token(hostname, port)
        return [e.key for e in self.entries if e.marker == marker and e.matches(token)]

    def lookup(self, hostname: str, port: int = 22) -> list[PublicKey]:
        """Keys trusted for the host: plain entries that match, minus any revoked for it."""
        revoked = set(self.revoked_keys(hostname, port))
        found: list[PublicKey] = []
        for key in self._matching(hostname, port, ""):
            if key not in revoked and key not in found:
                found.append(key)
        return found

    def revoked_keys(self, hostname: str, port: int = 22) -> list[PublicKey]:
        return self._matching(hostname, port, "revoked")

    def cert_authorities(self, hostname: str, port: int = 22) -> list[PublicKey]:
        """CA keys from ``@cert-authority`` lines; informational only, never trusted as host keys."""
        return self._matching(hostname, port, "cert-authority")

    def is_revoked(self, hostname: str, port: int, key: PublicKey) -> bool:
        return key in self.revoked_keys(hostname, port)

    def check(self, hostname: str, port: int, key: PublicKey) -> bool:
        """True when ``key`` is a known, unrevoked host key for ``hostname`` on ``port``."""
        return key in self.lookup(hostname, port)

    def to_text(self) -> str:
        return "".join(e.to_line() + "\n" for e in self.entries)

    def save(self, filename: str | Path) -> None:
        Path(filename).write_text(self.to_text(), encoding="utf-8")

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[HostKeyEntry]:
        return iter(self.entries)


def _describe(key: PublicKey) -> str:
    return f"{key.get_name()} {key.fingerprint_sha256()}"


def verify_host_key(host_keys: HostKeys, hostname: str, port: int, key: PublicKey) -> None:
    """Return if ``key`` is known for the host; else raise a HostKeyMismatch that says why.

    :class:`RevokedHostKey` when it is marked @revoked, :class:`UnknownHostKey` when the host
    has no entry (trust-on-first-use is the caller's policy, not ours), plain
    :class:`HostKeyMismatch` when the host is known with other keys.
    """
    token = host_token(hostname, port)
    if host_keys.is_revoked(hostname, port, key):
        raise RevokedHostKey(f"host key for {token} is REVOKED in known_hosts: {_describe(key)}")
    known = host_keys.lookup(hostname, port)
    if key in known:
        return
    if not known:
        raise UnknownHostKey(f"unknown host {token}: no known_hosts entry (offered {_describe(key)})")
    listed = ", ".join(_describe(k) for k in known)
    raise HostKeyMismatch(f"HOST KEY MISMATCH for {token}: offered {_describe(key)}; known_hosts has {listed}")
