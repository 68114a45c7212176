"""The user's own peers are checked strictly: every bad URL, template, peers file or path is one
message naming the culprit (docs/TARGETS.md). No sockets here; test_targets.py runs them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.peers.base import PeerError
from harness.peers.custom import ClientCommandError, fill, parse_template
from harness.peers.peers_file import PeersFileError, parse_peers_file
from harness.peers.target import TargetError, TargetUrl, identity_keys, missing_credentials, parse_target_url
from harness.peers.user_peers import load_user_peers
from harness.scenario.collect import NoScenariosError, check_paths, is_scenario_file, scenario_files
from harness.scenario.model import Scenario
from harness.scenario.steps import AuthAttempt, Authenticate, Handshake, Login


def test_target_urls_parse_with_user_password_and_port() -> None:
    assert parse_target_url("ssh://alice:s%40cret@127.0.0.1:2222") == TargetUrl("alice", "s@cret", "127.0.0.1", 2222)
    assert parse_target_url("ssh://bob@localhost") == TargetUrl("bob", "", "localhost", 22)
    assert "***" in str(parse_target_url("ssh://a:pw@127.0.0.1:1")) and "pw" not in str(parse_target_url("ssh://a:pw@h:1"))


@pytest.mark.parametrize(("url", "problem"), [
    ("127.0.0.1:22", "must look like ssh://"),
    ("ssh://127.0.0.1:22", "give the user"),
    ("ssh://u@127.0.0.1:99999", "bad port"),
    ("ssh://u@127.0.0.1:22/path", "nothing may follow"),
])  # fmt: skip
def test_bad_target_urls_say_what_is_wrong(url: str, problem: str) -> None:
    with pytest.raises(TargetError, match=problem):
        parse_target_url(url)


def test_client_command_templates_are_split_and_filled() -> None:
    tokens = parse_template("mycli -p {port} -o 'Opt=a b' {user}@{host} {command}")
    assert tokens == ["mycli", "-p", "{port}", "-o", "Opt=a b", "{user}@{host}", "{command}"]
    values = {"port": "7", "host": "127.0.0.1", "user": "u", "key": "k", "known_hosts": "kh", "command": "true"}
    assert fill(tokens, values) == ["mycli", "-p", "7", "-o", "Opt=a b", "u@127.0.0.1", "true"]


@pytest.mark.parametrize(("template", "problem"), [
    ("", "empty"),
    ("mycli -p {port} {hostname}", "unknown placeholder {hostname}"),
    ("mycli -p {port} {", "bad braces"),
    ("mycli 'unbalanced {port}", "cannot split"),
    ("mycli {user}@{host}", "must contain {port}"),
])  # fmt: skip
def test_bad_client_command_templates_are_refused(template: str, problem: str) -> None:
    with pytest.raises(ClientCommandError, match=problem):
        parse_template(template)


GOOD = '''
[server.mysshd]
command = "./mysshd -p {port} -d {workdir}"
user = "tester"
password = "pw"
[server.mysshd.capabilities]
auth_methods = ["password"]
subsystems = ["sftp"]

[server.remote]
url = "ssh://tester:pw@127.0.0.1:2222"

[client.mycli]
command = ["./mycli", "-p", "{port}", "{user}@{host}"]
'''


def test_a_good_peers_file_gives_servers_and_clients(tmp_path: Path) -> None:
    peers = parse_peers_file(GOOD, tmp_path / "peers.toml")
    assert set(peers.servers) == {"mysshd", "remote"} and set(peers.clients) == {"mycli"}
    assert peers.servers["mysshd"].kind == "command" and peers.servers["mysshd"].command[-1] == "{workdir}"
    assert peers.servers["remote"].url == TargetUrl("tester", "pw", "127.0.0.1", 2222)
    assert peers.servers["mysshd"].capabilities["subsystems"] == ["sftp"]
    assert peers.clients["mycli"].base_dir == tmp_path.resolve()


@pytest.mark.parametrize(("text", "problem"), [
    ("[server.x", "not valid TOML"),
    ("[servers.x]\nurl = 'ssh://u@h:1'", "unknown table(s) ['servers']"),
    ("", "defines no peers"),
    ("[server.x]\nuser = 'u'\npassword = 'p'", "give url (a running server), command"),
    ("[server.x]\nurl = 'ssh://u@h:1'\ncommand = 'y {port}'", "found ['command', 'url']"),
    ("[server.x]\nurl = 'ssh://u@h:1'\nuser = 'v'", "put user, password and port in the URL"),
    ("[server.x]\ncommand = 'd {port}'\npassword = 'p'", "user is required"),
    ("[server.x]\ncommand = 'd {port}'\nuser = 'u'", "give password and/or identity"),
    ("[server.x]\ncommand = 'd'\nuser = 'u'\npassword = 'p'", "must contain {port}"),
    ("[server.x]\ncommand = 'd {port} {nope}'\nuser = 'u'\npassword = 'p'", "unknown placeholder {nope}"),
    ("[server.x]\ncommand = 'd {port}'\nuser = 'u'\npassword = 'p'\nport = 'x'", "port must be a whole number"),
    ("[server.x]\ncommand = 'd {port}'\nuser = 'u'\npassword = 'p'\nstart_timeout = 0", "start_timeout"),
    ("[server.x]\ncommand = 'd {port}'\nuser = 'u'\nidentity = 'missing_key'", "identity"),
    ("[server.x]\nurl = 'ssh://u@h:1'\ncolour = 'red'", "unknown key(s) ['colour']"),
    ("[server.x]\nurl = 'ssh://u@h:1'\n[server.x.capabilities]\nkex = 'curve25519-sha256'", "must be a list"),
    ("[server.x]\nurl = 'ssh://u@h:1'\n[server.x.capabilities]\nauth_methods = ['telepathy']", "unknown auth method"),
    ("[server.x]\nurl = 'ssh://u@h:1'\n[server.x.capabilities]\nciphers = ['aes']", "unknown key(s) ['ciphers']"),
    ("[server.x]\nurl = 'http://h'", "must look like ssh://"),
    ("[server.'bad name']\nurl = 'ssh://u@h:1'", "use letters, digits"),
    ("[server.\"openssh-9.2\"]\nurl = 'ssh://u@h:1'", "is a built-in peer id"),
    ("[server.x]\nurl = 'ssh://u@h:1'\n[client.x]\ncommand = 'c {port}'", "used twice"),
    ("[client.c]\nuser = 'u'", "command is required"),
    ("[client.c]\ncommand = 'c {port}'\nkey = 'k'", "unknown key(s) ['key']"),
])  # fmt: skip
def test_a_bad_peers_file_is_one_message_naming_file_and_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "peers.toml"
    with pytest.raises(PeersFileError) as err:
        parse_peers_file(text, path, builtin=("openssh-9.2",))
    assert str(err.value).startswith(str(path)), err.value
    assert problem in str(err.value)


def test_command_line_peers_are_checked_too(tmp_path: Path) -> None:
    with pytest.raises(PeerError, match="describe a --target"):
        load_user_peers(identity=["key"])
    with pytest.raises(PeerError, match=r"--identity .*no such file"):
        load_user_peers(target="ssh://u@127.0.0.1:2", identity=[str(tmp_path / "nope")])
    with pytest.raises(PeerError, match="built-in peer id"):
        load_user_peers(target="ssh://u@127.0.0.1:2", name="openssh-9.2", builtin=("openssh-9.2",))
    with pytest.raises(PeerError, match="junk: cannot load the private key"):
        (tmp_path / "junk").write_text("junk\n")
        load_user_peers(target="ssh://u@127.0.0.1:2", identity=[str(tmp_path / "junk")])
    peers = load_user_peers(target="ssh://u@127.0.0.1:2", client_command="c -p {port}")
    assert set(peers.servers) == {"target"} and set(peers.clients) == {"client-command"}


def test_identity_keys_are_named_by_type_and_bad_files_are_refused(tmp_path: Path) -> None:
    key = tmp_path / "id"
    subprocess.run(["/usr/bin/ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-N", "", "-f", str(key)], check=True,
                   timeout=30)  # fmt: skip
    assert identity_keys([key]) == {"ecdsa-256": key}
    with pytest.raises(TargetError, match="a second ecdsa-256 key"):
        identity_keys([key, key])
    (tmp_path / "junk").write_text("not a key\n")
    with pytest.raises(TargetError, match="junk: cannot load the private key"):
        identity_keys([tmp_path / "junk"])


def test_scenarios_that_log_in_with_a_key_not_given_are_not_applicable() -> None:
    rsa = Scenario(steps=[Handshake(), Authenticate("publickey", key="rsa")])
    query = Scenario(steps=[Handshake(), AuthAttempt("publickey_query", expect="pk_ok")])
    password = Scenario(steps=[Login("password"), AuthAttempt("publickey", key="unauthorized")])
    auto = Scenario(steps=[Login()])
    assert "client key rsa" in (missing_credentials(rsa, {}, {"ed25519": Path("k")}) or "")
    assert "given none" in (missing_credentials(query, {}, {}) or "")
    assert missing_credentials(query, {}, {"ed25519": Path("k")}) is None
    assert missing_credentials(password, {}, {}) is None  # a fresh key of its own, and a password
    assert missing_credentials(auto, {}, {}, has_password=True) is None  # "auto" logs in with the password
    assert "client key ed25519" in (missing_credentials(auto, {}, {"rsa": Path("k")}) or "")


SCENARIO_TEXT = '"""Doc."""\n\nfrom harness.scenario import *\n\nSCENARIO = Scenario(steps=[Handshake()])\n'


def test_scenario_files_are_found_flat_and_in_areas_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "kex").mkdir()
    (tmp_path / "kex" / "a.py").write_text(SCENARIO_TEXT)
    (tmp_path / "b.py").write_text(SCENARIO_TEXT)
    for name in ("_helper.py", "conftest.py", "test_b.py", "plain.py"):
        (tmp_path / name).write_text(SCENARIO_TEXT if name != "plain.py" else "x = 1\n")
    (tmp_path / "expectations").mkdir()
    (tmp_path / "expectations" / "c.py").write_text(SCENARIO_TEXT)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "plain.py").write_text("x = 1\n")
    assert scenario_files(tmp_path) == [tmp_path / "b.py", tmp_path / "kex" / "a.py"]
    assert scenario_files(tmp_path / "kex") == [tmp_path / "kex" / "a.py"]
    assert not is_scenario_file(tmp_path / "plain.py", tmp_path)
    assert check_paths([str(tmp_path)]) == [tmp_path.resolve()]
    with pytest.raises(NoScenariosError, match="no scenario files there"):
        check_paths([str(tmp_path / "other")])
    with pytest.raises(NoScenariosError, match="no such file or directory"):
        check_paths([str(tmp_path / "missing")])
