"""known_hosts: OpenSSH's lookup rules, hashed names from ssh-keygen -H, and the verify policy."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.ssh.errors import HostKeyMismatch
from harness.ssh.keys import (
    ECDSAKey,
    Ed25519Key,
    HostKeys,
    PublicKey,
    RevokedHostKey,
    UnknownHostKey,
    hash_host,
    verify_host_key,
)
from harness.ssh.keys.known_hosts import match_patterns, wildcard_match

needs_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen not installed")

K1 = Ed25519Key.generate(seed=b"\x01" * 32).public_key
K2 = Ed25519Key.generate(seed=b"\x02" * 32).public_key
K3 = ECDSAKey.generate(256, scalar=3).public_key
CA = Ed25519Key.generate(seed=b"\xca" * 32).public_key


def line(hosts: str, key: PublicKey, marker: str = "") -> str:
    return f"{marker + ' ' if marker else ''}{hosts} {key.to_openssh_line()}\n"


def load(tmp_path: Path, text: str) -> HostKeys:
    path = tmp_path / "known_hosts"
    path.write_text(text)
    return HostKeys(path)


def test_plain_entries_and_ports(tmp_path: Path) -> None:
    hk = load(tmp_path, line("example.com,10.0.0.1", K1) + line("[example.com]:2222", K2) + line("other", K3))
    assert hk.lookup("example.com") == [K1]
    assert hk.lookup("EXAMPLE.com", 22) == [K1]  # names compare case-insensitively
    assert hk.lookup("10.0.0.1") == [K1]
    assert hk.lookup("example.com", 2222) == [K2]  # [host]:port, and the port-22 entry does not apply
    assert hk.lookup("example.com", 2200) == []
    assert hk.check("example.com", 22, K1) and not hk.check("example.com", 22, K2)
    assert hk.check("example.com", 2222, K2)
    assert hk.errors == []


def test_wildcards_and_negation(tmp_path: Path) -> None:
    hk = load(tmp_path, line("*.example.com,!bad.example.com", K1) + line("host?", K2) + line("[*.lan]:*", K3))
    assert hk.lookup("a.example.com") == [K1]
    assert hk.lookup("bad.example.com") == []  # the negation vetoes the line
    assert hk.lookup("example.com") == []
    assert hk.lookup("host1") == [K2] and hk.lookup("host12") == []
    assert hk.lookup("box.lan", 2022) == [K3] and hk.lookup("box.lan") == []
    assert match_patterns("a.b", ("*",)) and not match_patterns("a.b", ("!*", "*"))
    assert not match_patterns("a", ("[a]",))  # brackets are literal, not a character class


def test_revoked_and_cert_authority(tmp_path: Path) -> None:
    text = line("server", K1) + line("server", K2) + line("*", K2, "@revoked") + line("*.corp", CA, "@cert-authority")
    hk = load(tmp_path, text)
    assert hk.lookup("server") == [K1]  # K2 is listed but revoked
    assert not hk.check("server", 22, K2) and hk.is_revoked("server", 22, K2)
    with pytest.raises(RevokedHostKey, match="REVOKED") as info:
        verify_host_key(hk, "server", 22, K2)
    assert K2.fingerprint_sha256() in str(info.value)
    # CA lines are kept apart and never accepted as a host key
    assert hk.cert_authorities("db.corp") == [CA]
    assert hk.lookup("db.corp") == [] and not hk.check("db.corp", 22, CA)
    with pytest.raises(UnknownHostKey):
        verify_host_key(hk, "db.corp", 22, CA)


def test_verify_host_key_messages(tmp_path: Path) -> None:
    hk = load(tmp_path, line("server", K1) + line("server", K3))
    assert verify_host_key(hk, "server", 22, K1) is None
    assert verify_host_key(hk, "server", 22, K3) is None
    with pytest.raises(HostKeyMismatch) as info:
        verify_host_key(hk, "server", 22, K2)
    message = str(info.value)
    assert not isinstance(info.value, UnknownHostKey)
    assert "server" in message and K2.fingerprint_sha256() in message
    assert K1.fingerprint_sha256() in message and K3.fingerprint_sha256() in message
    with pytest.raises(UnknownHostKey, match=r"unknown host \[server\]:2222") as unknown:
        verify_host_key(hk, "server", 2222, K1)
    assert K1.fingerprint_sha256() in str(unknown.value)


def test_bad_lines_are_skipped_and_remembered(tmp_path: Path) -> None:
    good = line("good", K1)
    text = (
        "# a comment\n\n"
        + good  # line 3
        + "onlyhost\n"  # 4: too few fields
        + "host ssh-ed25519 !!!notbase64\n"  # 5
        + f"host ssh-rsa {K1.get_base64()}\n"  # 6: type disagrees with the blob
        + "host 1024 35 1234567\n"  # 7: SSH1 line
        + line("x", K1, "@bogus")  # 8: unknown marker
        + "|1|AAAA|BBBB ssh-ed25519 "
        + K1.get_base64()
        + "\n"  # 9: hash lengths wrong
        + f"host sk-ssh-ed25519@openssh.com {K1.get_base64()}\n"  # 10: unsupported type
        + line(",host", K2)  # 11: empty pattern
        + line("good2", K2)  # 12
    )
    path = tmp_path / "known_hosts"
    path.write_bytes(text.encode() + b"\xff\xfe garbage \x00 line\n")
    hk = HostKeys(path)
    assert [lineno for lineno, _ in hk.errors] == [4, 5, 6, 7, 8, 9, 10, 11, 13]
    assert all(str(path) in message for _, message in hk.errors)
    assert hk.lookup("good") == [K1] and hk.lookup("good2") == [K2]
    assert [e.lineno for e in hk] == [3, 12]


def test_add_save_and_reload(tmp_path: Path) -> None:
    hk = HostKeys()
    hk.add("plain", K1)
    hk.add("ported", K2, port=2022)
    hk.add("hidden", K3, salt=bytes(range(20)), comment="hashed")
    hk.add("*", K2, marker="revoked")
    path = tmp_path / "known_hosts"
    hk.save(path)
    again = HostKeys(path)
    assert again.errors == [] and len(again) == 4
    assert again.lookup("plain") == [K1]
    assert again.lookup("ported", 2022) == []  # K2 is revoked everywhere
    assert again.is_revoked("ported", 2022, K2)
    assert again.lookup("hidden") == [K3] and "hidden" not in path.read_text()
    with pytest.raises(ValueError):
        hk.add("x", K1, marker="trusted")


@needs_keygen
def test_ssh_keygen_hashed_file(tmp_path: Path) -> None:
    """Hashes written by ``ssh-keygen -H`` match our lookups (always on a copy in tmp_path)."""
    path = tmp_path / "known_hosts"
    path.write_text(line("alpha.example,192.0.2.7", K1) + line("[beta.example]:2222", K2))
    subprocess.run(["ssh-keygen", "-H", "-f", str(path)], check=True, capture_output=True, timeout=30)
    text = path.read_text()
    assert "alpha" not in text and text.count("|1|") == 3
    hk = HostKeys(path)
    assert hk.errors == []
    assert hk.lookup("alpha.example") == [K1] and hk.lookup("192.0.2.7") == [K1]
    assert hk.lookup("beta.example", 2222) == [K2] and hk.lookup("beta.example") == []
    assert hk.lookup("gamma.example") == []


@needs_keygen
def test_ssh_keygen_finds_our_hashed_entries(tmp_path: Path) -> None:
    hk = HostKeys()
    hk.add("delta.example", K1, salt=b"\x07" * 20)
    hk.add("delta.example", K3, port=2200, salt=b"\x08" * 20)
    path = tmp_path / "known_hosts"
    hk.save(path)
    for name in ("delta.example", "[delta.example]:2200"):
        out = subprocess.run(["ssh-keygen", "-F", name, "-f", str(path)], capture_output=True, timeout=30, text=True)
        assert out.returncode == 0 and "found: line" in out.stdout, name
    assert hash_host("delta.example", b"\x07" * 20) in path.read_text()


def _reference_match(pattern: str, name: str) -> bool:
    """The obvious (exponential in the worst case) reading of * and ?, for small inputs."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, name, re.DOTALL) is not None


@given(st.text(alphabet="ab*?.", max_size=8), st.text(alphabet="ab.", max_size=8))
def test_wildcard_match_agrees_with_the_regex_reading(pattern: str, name: str) -> None:
    assert wildcard_match(pattern, name) == _reference_match(pattern, name)


def test_many_stars_do_not_backtrack_exponentially() -> None:
    """`*a*a*...*b` against a long run of a's: the regex translation backtracked for minutes
    (keys fuzz target, corpus/regressions/keys/); the matcher answers at once."""
    assert not match_patterns("a" * 60, ("*a" * 30 + "*b",))
    assert match_patterns("a" * 60 + "b", ("*a" * 30 + "*b",))
