"""Zoo clients (harness.peers.zoo.ZOO_CLIENTS) as client peers of server-role scenarios: the
fastest to start (Go's static binary, under a second a run) logs in by key and by password
and plays a real scenario file through the launcher; the per-client plans (host key type,
widened offer, key type) and the not-applicable reasons are checked without a container."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.peers.client_peers import default_client_peer_ids, known_client_peer_ids
from harness.peers.zoo import ZOO_CLIENTS
from harness.scenario.client_target import ClientTarget, client_peer_info
from harness.scenario.zoo_clients import zoo_needs
from harness.ssh.config import ConnectionConfig, server_default_kex
from harness.ssh.wire import messages as m
from tests.peers.client_sessions import OUTPUT, STATUS, received, run_client, session_steps

FASTEST = "go-x-crypto-0.4-client"
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_zoo_clients_are_client_peers_outside_the_default_set() -> None:
    known = known_client_peer_ids()
    assert set(ZOO_CLIENTS) <= set(known)
    assert not set(ZOO_CLIENTS) & set(default_client_peer_ids(True))
    info = client_peer_info("jsch-0.1.54-client")
    assert (info.product, info.version, info.extra["launcher"], info.extra["modes"]) == ("jsch", "0.1.54", "docker",
                                                                                          "exec")  # fmt: skip


def test_modes_and_logins_a_zoo_client_lacks_are_not_applicable_with_its_name() -> None:
    shell = ClientTarget(client_peer_info(FASTEST), mode="shell").not_applicable()
    assert shell == f"zoo client {FASTEST} runs only one exec command (no shell mode)"
    assert ClientTarget(client_peer_info("lsh-2.1-client"), auth="password").not_applicable() == \
        "zoo client lsh-2.1-client has no password login"  # fmt: skip
    assert ClientTarget(client_peer_info(FASTEST), auth="password").not_applicable() is None
    assert ClientTarget(client_peer_info("dbclient-2022.83"), mode="sftp").not_applicable() == \
        "dbclient-2022.83 has no sftp mode"  # fmt: skip


def test_each_zoo_client_gets_a_host_key_and_offer_it_can_use() -> None:
    """JSch 0.1.54 has no Ed25519 (ECDSA host key, RSA PEM user key); lsh 2.1 needs ssh-rsa and
    SHA-1 DH, appended after our defaults so the default clients negotiate what they did."""
    jsch = zoo_needs("jsch-0.1.54-client")
    assert jsch is not None and (jsch.key_type, jsch.host_key) == ("rsa", "ecdsa")
    lsh = zoo_needs("lsh-2.1-client", "ed25519")
    assert lsh is not None and (lsh.key_type, lsh.host_key, lsh.password_login) == ("rsa", "rsa", False)
    config = ConnectionConfig()
    config.apply_server_defaults()
    lsh.widen(config)
    assert config.kex == (*server_default_kex(), "diffie-hellman-group14-sha1")
    assert config.host_key_algorithms[-1] == "ssh-rsa" and "aes256-cbc" in config.ciphers
    assert zoo_needs("openssh-client-9.2") is None
    assert ClientTarget(client_peer_info("jsch-0.1.54-client")).key_type == "rsa"


@pytest.mark.docker
@pytest.mark.parametrize("auth", ["publickey", "password"])
def test_the_go_zoo_client_logs_in_and_runs_a_command(zoo_images: None, auth: str) -> None:
    failure, target, ctx = run_client(FASTEST, session_steps("exec"), auth=auth)
    report = target.report()
    assert report is not None and failure is None, f"{failure}\n{report and report.describe()}"
    assert received(ctx, m.ChannelRequestExec)[0].command == b"echo harness-client-ok"
    assert (report.returncode, report.signal, report.hung) == (STATUS, None, False), report.describe()
    assert OUTPUT.decode() in report.stdout, report.describe()
    assert "/usr/local/bin/go-ssh-client" in report.argv and "/harness/known_hosts" in report.argv


@pytest.mark.docker
def test_a_zoo_client_plays_a_scenario_file_and_gets_an_outcome(zoo_images: None) -> None:
    """scenarios/client/server_global_request.py, as `harness run --client-peer` runs it."""
    from harness.scenario.execute import run_one
    from harness.scenario.model import load_scenario_file

    scenario = load_scenario_file(SCENARIOS / "client" / "server_global_request.py", SCENARIOS)
    info = client_peer_info(FASTEST)
    target = ClientTarget(info, mode=scenario.client_mode, auth=scenario.client_auth)
    result = run_one(scenario, "client/server_global_request[unknown]", {"request": "unknown"}, info, 1, None, target)
    assert (result.status, result.outcome) == ("pass", "reply REQUEST_FAILURE"), result.message
    run = result.extra["client_run"]
    assert run["peer_id"] == FASTEST and run["hung"] is False and run["signal"] is None, run


@pytest.mark.docker
@pytest.mark.parametrize(("peer", "host_key_algorithm", "kex"), [
    ("jsch-0.1.54-client", "ecdsa-sha2-nistp256", "ecdh-sha2-nistp256"),
    ("lsh-2.1-client", "ssh-rsa", "diffie-hellman-group14-sha1"),
])  # fmt: skip
def test_zoo_clients_without_ed25519_log_in_with_what_their_plan_adds(
        zoo_images: None, peer: str, host_key_algorithm: str, kex: str) -> None:  # fmt: skip
    """JSch and lsh cannot use our default Ed25519 host key (lsh not even our default offer): the
    plan's host key, offer and RSA user key get them through a whole exec session."""
    failure, target, ctx = run_client(peer, session_steps("exec"))
    report = target.report()
    assert report is not None and failure is None, f"{failure}\n{report and report.describe()}"
    assert (ctx.conn.kex.negotiated.host_key, ctx.conn.kex.negotiated.kex) == (host_key_algorithm, kex)
    assert received(ctx, m.UserauthRequestPublickey)[-1].key_blob.startswith(b"\x00\x00\x00\x07ssh-rsa")
    assert (report.returncode, report.hung) == (STATUS, False), report.describe()
