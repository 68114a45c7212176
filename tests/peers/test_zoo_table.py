"""The peer zoo's tables without Docker: client command lines, what a client refuses, the
login options a legacy server needs, the cached offer in `harness peers list`, and that every
entry points at a recipe that exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.interop import login_algorithms
from harness.peers.base import PeerInfo
from harness.peers.zoo import ZOO_CLIENTS, ZOO_SERVERS, capabilities, offers_cache

REPO = Path(__file__).resolve().parents[2]


def test_client_argv_key_and_password_forms() -> None:
    client = ZOO_CLIENTS["go-x-crypto-0.4-client"]
    assert client.argv(host="127.0.0.1", port=2200, user="u", command="true", key="/harness/id",
                       known_hosts="/harness/kh") == [
        "/usr/local/bin/go-ssh-client", "-p", "2200", "-l", "u", "-i", "/harness/id",
        "-known-hosts", "/harness/kh", "127.0.0.1", "true"]
    assert client.argv(host="127.0.0.1", port=22, user="u", command="echo a b") == [
        "/usr/local/bin/go-ssh-client", "-p", "22", "-l", "u", "-password-env", "HARNESS_PASSWORD",
        "127.0.0.1", "echo a b"]


def test_client_argv_refuses_what_the_client_cannot_do() -> None:
    lsh = ZOO_CLIENTS["lsh-2.1-client"]
    with pytest.raises(ValueError, match="no password login"):
        lsh.argv(host="127.0.0.1", port=22, user="u", command="true")
    with pytest.raises(ValueError, match="known_hosts"):
        lsh.argv(host="127.0.0.1", port=22, user="u", command="true", key="/k", known_hosts="/kh")


def _info(extra: dict[str, str]) -> PeerInfo:
    return PeerInfo("x", "x", "1", "127.0.0.1", 22, "SSH-2.0-x", "u", "p", {}, {}, Path("/dev/null"), {},
                    Path("/tmp"), Path("/dev/null"), extra=extra)


def test_login_algorithms_come_from_the_peer_extra() -> None:
    assert login_algorithms(_info({})) == {}
    extra = {"login_algorithms": "kex=diffie-hellman-group14-sha1;ciphers=aes256-cbc,3des-cbc"}
    assert login_algorithms(_info(extra)) == {"kex": ("diffie-hellman-group14-sha1",),
                                              "ciphers": ("aes256-cbc", "3des-cbc")}


def test_capabilities_show_the_recorded_offer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert "not probed yet" in capabilities("lsh-2.1")
    offers_cache().parent.mkdir(parents=True)
    offers_cache().write_text(json.dumps({"lsh-2.1": {
        "kex": ["diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1"], "host_key": ["ssh-rsa"],
        "cipher_c2s": ["aes256-cbc"], "mac_c2s": ["hmac-sha1", "hmac-md5"]}}))
    line = capabilities("lsh-2.1")
    assert "kex 2 (diffie-hellman-group14-sha1...)" in line and "macs 2 (hmac-sha1...)" in line
    assert "client keys rsa-pem" in capabilities("lsh-2.1-client")
    assert capabilities("lsh-2.1-client").startswith("--client-peer: exec, key login;")


def test_every_entry_has_its_recipe() -> None:
    for entry in [*ZOO_SERVERS.values(), *ZOO_CLIENTS.values()]:
        recipe = REPO / "containers" / "zoo" / entry.kind.removeprefix("zoo-")
        assert (recipe / "Dockerfile").is_file(), entry
    for client in ZOO_CLIENTS.values():  # the program is a file of the recipe, or its Dockerfile makes it
        recipe = REPO / "containers" / "zoo" / client.kind.removeprefix("zoo-")
        name = Path(client.program).name
        dockerfile = (recipe / "Dockerfile").read_text()
        looped = re.search(r"for impl in ([a-z ]+);", dockerfile)  # zoo-python: "$impl-client"
        made = name in dockerfile or bool(looped and name.removesuffix("-client") in looped.group(1).split())
        assert made or (recipe / name).is_file() or (recipe / f"{name}.c").is_file(), client
