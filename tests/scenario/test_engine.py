"""Unit tests of the scenario engine without real peers: expectation files, reports, step
failure messages (against an in-process peer: our own server over loopback)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.scenario import (
    Exec,
    Expect,
    ExpectClose,
    ExpectNothing,
    Handshake,
    Login,
    OneOf,
    OpenChannel,
    Scenario,
    Send,
    m,
)
from harness.scenario.execute import FAIL, PASS, XFAIL, XPASS, classify, run_one
from harness.scenario.expectations import Expectation, ExpectationError, Expectations, parse_expectations
from harness.scenario.model import discover
from harness.scenario.report import html_page, markdown, write_reports
from harness.scenario.runner import Context, StepFailure

# -- expectation files --------------------------------------------------------------------


def test_expectation_file_parses() -> None:
    table = parse_expectations('["kex/x"]\nstatus = "xfail"\nreason = "because"\nmatch = "DISCONNECT"\n', "p.toml")
    assert table["kex/x"] == Expectation("kex/x", "xfail", "because", "DISCONNECT", True, "", "p.toml")


@pytest.mark.parametrize(("text", "problem"), [
    ('["a/b"]\nstatus = "xfail"\nmatch = "x"\n', "needs a non-empty reason"),
    ('["a/b"]\nstatus = "maybe"\nreason = "r"\n', "status must be one of"),
    ('["a/b"]\nstatus = "xfail"\nreason = "r"\n', "an xfail needs match"),
    ('["a/b"]\nstatus = "xfail"\nreason = "r"\nmatch = "m"\ncolour = 1\n', "unknown key(s) ['colour']"),
    ('["a/b"]\nstatus = "outcome"\nreason = "r"\n', "needs outcome"),
    ('["a/b"\nstatus = 1', "not valid TOML"),
    ('x = 1\n', "must be a table"),
])  # fmt: skip
def test_bad_expectation_file_names_file_and_problem(text: str, problem: str) -> None:
    with pytest.raises(ExpectationError) as err:
        parse_expectations(text, "scenarios/expectations/openssh-9.2.toml")
    assert "scenarios/expectations/openssh-9.2.toml" in str(err.value)
    assert problem in str(err.value)


def test_unknown_scenario_id_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "openssh-9.2.toml").write_text('["kex/nope"]\nstatus = "xfail"\nreason = "r"\nmatch = "m"\n')
    exps = Expectations.load(tmp_path)
    with pytest.raises(ExpectationError, match="names no scenario"):
        exps.check_ids({"kex/yes"}, {"kex/yes"})


def test_lookup_variant_base_pattern_and_all(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text('["a/b"]\nstatus = "xfail"\nreason = "base"\nmatch = "m"\n'
                                     '["a/c[1]"]\nstatus = "n/a"\nreason = "variant"\n')  # fmt: skip
    (tmp_path / "all.toml").write_text('["z/*"]\nstatus = "xfail"\nreason = "harness bug: x"\nmatch = "m"\n')
    exps = Expectations.load(tmp_path)
    assert exps.lookup("a/b[7]", "a/b", "p").reason == "base"
    assert exps.lookup("a/c[1]", "a/c", "p").reason == "variant"
    assert exps.lookup("z/q", "z/q", "other").reason == "harness bug: x"
    assert exps.lookup("a/b", "a/b", "other") is None


def test_classify_xfail_xpass_and_wrong_failure() -> None:
    exp = Expectation("a/b", "xfail", "known", "REQUEST_FAILURE", True, "", "f.toml")
    assert classify("p", None, None)[0] == PASS
    assert classify("p", "step 1: boom", None)[0] == FAIL
    assert classify("p", "expected REQUEST_FAILURE; got nothing", exp)[0] == XFAIL
    status, message, _ = classify("p", None, exp)
    assert status == XPASS and "f.toml" in message
    status, message, _ = classify("p", "something else", exp)
    assert status == FAIL and "not as expected" in message
    lenient = Expectation("a/b", "xfail", "flaky", "x", False, "", "f.toml")
    assert classify("p", None, lenient)[0] == PASS


# -- reports ------------------------------------------------------------------------------

RESULTS = [
    {"scenario": "kex/a", "area": "kex", "peer": "p1", "status": "pass", "outcome": "", "reason": "", "message": ""},
    {"scenario": "kex/a", "area": "kex", "peer": "p2", "status": "xfail", "outcome": "", "reason": "known </script>",
     "message": "step 1: expected X; got Y"},
    {"scenario": "auth/b", "area": "auth", "peer": "p1", "status": "n/a", "outcome": "", "reason": "no password",
     "message": ""},
    {"scenario": "auth/b", "area": "auth", "peer": "p2", "status": "pass", "outcome": "disconnect", "reason": "",
     "message": ""},
]  # fmt: skip


def test_markdown_matrix() -> None:
    text = markdown(RESULTS, 42)
    assert "| scenario | p1 | p2 |" in text
    assert "| `kex/a` | pass | xfail |" in text
    assert "pass (disconnect)" in text
    assert "known </script>" in text and "1 x no password" in text


def test_html_is_self_contained_and_escaped(tmp_path: Path) -> None:
    page = html_page(RESULTS, 42)
    assert "<script>" in page and "addEventListener('input'" in page
    assert "known </script>" not in page  # the embedded JSON cannot end the script element
    assert "http://" not in page and "https://" not in page
    paths = write_reports(RESULTS, tmp_path, 42)
    assert json.loads(paths[0].read_text())["totals"] == {"pass": 2, "xfail": 1, "n/a": 1}


# -- step failure messages (our own server as the peer) -----------------------------------


def _scenario(sid: str, **kwargs) -> Scenario:  # type: ignore[no-untyped-def]
    sc = Scenario(**kwargs)
    sc.id = sid
    return sc


def test_scenario_passes_against_our_server(server) -> None:  # type: ignore[no-untyped-def]
    result = run_one(_scenario("t/pass", steps=[Handshake(), Expect(m.ServiceAccept)]), "t/pass", {}, server, 1, None)
    assert result.status == PASS, result.message


def test_failure_message_names_expected_got_and_phase(server) -> None:  # type: ignore[no-untyped-def]
    sc = _scenario("t/fail", timeout=1.0, steps=[Handshake(), Expect(m.ChannelFailure)])
    result = run_one(sc, "t/fail", {}, server, 1, None)
    assert result.status == FAIL
    assert "step 2/2 Expect(CHANNEL_FAILURE)" in result.message
    assert "expected CHANNEL_FAILURE" in result.message
    assert "SERVICE_ACCEPT(service='ssh-userauth') [seq 4]" in result.message  # no strict kex: seq runs on
    assert "then nothing for 1 s" in result.message
    assert "phase: user authentication" in result.message
    assert ">> [seq 0] KEXINIT(" in result.transcript and "<< [seq 0] KEXINIT(" in result.transcript


def test_one_of_records_the_branch_taken(server) -> None:  # type: ignore[no-untyped-def]
    branches = OneOf(unimplemented=[Expect(m.Unimplemented)], disconnect=[ExpectClose()])
    sc = _scenario("t/oneof", steps=[Handshake(), Send(m.NewKeys()), branches])
    result = run_one(sc, "t/oneof", {}, server, 1, None)
    assert result.status == PASS, result.message
    assert result.branch == "disconnect"
    assert result.outcome.startswith("DISCONNECT PROTOCOL_ERROR(2) \"NEWKEYS")


def test_same_seed_same_bytes(server) -> None:  # type: ignore[no-untyped-def]
    from harness.scenario.execute import run_steps

    sc = _scenario("t/seed", steps=[Handshake()])

    def our_kexinit(seed: int) -> str:
        failure, ctx = run_steps(sc, {}, server, seed)
        assert failure is None, failure
        return next(line.split(">> ", 1)[1] for line in ctx.transcript.lines if ">> [seq 0] KEXINIT" in line)

    assert our_kexinit(7) == our_kexinit(7)  # the cookie comes from the seeded rng
    assert our_kexinit(7) != our_kexinit(8)


def test_expect_nothing_reports_what_came() -> None:
    from harness.ssh.config import ConnectionConfig

    a, b = socket.socketpair()
    try:
        ctx = Context(SimpleNamespace(peer_id="x", product="x"), 1, timeout=0.5)
        ctx.new_connection(ConnectionConfig(), a)
        ctx.conn.start()
        b.close()
        ctx.step_label = "step 1/1 ExpectNothing(0.3 s)"
        with pytest.raises(StepFailure, match=r"expected nothing for 0.3 s; got: connection closed"):
            ExpectNothing(0.3).run(ctx)
    finally:
        a.close()


def test_every_scenario_file_loads_and_has_a_docstring() -> None:
    root = Path(__file__).resolve().parents[2] / "scenarios"
    scenarios = discover(root)
    assert len(scenarios) >= 60
    for sc in scenarios:
        assert sc.doc and sc.area, sc.id
        assert sc.variants()


def test_match_may_list_alternatives() -> None:
    table = parse_expectations('["kex/x"]\nstatus = "xfail"\nreason = "timing"\nmatch = ["A", "B"]\n', "p.toml")
    assert table["kex/x"].match == ("A", "B")
    with pytest.raises(ExpectationError, match="list of non-empty strings"):
        parse_expectations('["kex/x"]\nstatus = "xfail"\nreason = "r"\nmatch = []\n', "p.toml")


def test_request_on_a_channel_the_peer_closed_says_so(server) -> None:  # type: ignore[no-untyped-def]
    """The peer closed the channel before our request: a StepFailure that says so, not a harness error."""
    sc = _scenario("t/closed", timeout=5.0, steps=[Login(), OpenChannel("ch"), Exec("true", "ch"),
                                                     Expect(m.ChannelClose), Exec("true", "ch")])  # fmt: skip
    result = run_one(sc, "t/closed", {}, server, 1, None)
    assert result.status == FAIL
    assert "the peer closed channel 'ch' before CHANNEL_REQUEST[exec] was sent" in result.message, result.message
    assert "expected CHANNEL_SUCCESS for CHANNEL_REQUEST[exec]" in result.message
    assert "harness error" not in result.message


def test_a_peer_we_share_no_algorithm_with_is_offered_its_own() -> None:
    """GNU lsh offers only SHA-1 Diffie-Hellman, CBC ciphers and hmac-sha1: the scenario's
    connection appends those (as ``KexAlgorithms=+...`` would); every other peer keeps our defaults."""
    from harness.scenario.steps.commands import meet_legacy_peer
    from harness.ssh.config import ConnectionConfig

    lsh = {"kex": ["diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1"],
           "host_key": ["ssh-rsa", "spki-sign-rsa"],
           "cipher_c2s": ["aes256-cbc", "3des-cbc", "blowfish-cbc", "arcfour"],
           "mac_c2s": ["hmac-sha1", "hmac-md5"]}  # fmt: skip
    cfg, default = ConnectionConfig(), ConnectionConfig()
    meet_legacy_peer(cfg, lsh)
    assert cfg.kex == (*default.kex, "diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1")
    assert cfg.ciphers[: len(default.ciphers)] == default.ciphers and "aes256-cbc" in cfg.ciphers
    assert "blowfish-cbc" not in cfg.ciphers  # not implemented: never offered
    assert cfg.host_key_algorithms == default.host_key_algorithms  # ssh-rsa is shared already
    assert "hmac-sha1" in cfg.macs
    modern = ConnectionConfig()
    meet_legacy_peer(modern, {"kex": ["curve25519-sha256", "diffie-hellman-group1-sha1"]})
    assert modern.kex == default.kex


def test_scenario_connections_list_sntrup761_after_the_curves() -> None:
    """Our pure-Python sntrup761 key generation is slow: scenario connections offer it after
    X25519 and the NIST curves, keep it (a peer with nothing else still gets it), and keep the
    order of everything else."""
    from harness.scenario.steps.commands import scenario_kex_preference
    from harness.ssh.config import ConnectionConfig

    default = ConnectionConfig().kex
    ordered = scenario_kex_preference(default)
    assert sorted(ordered) == sorted(default)
    sntrup = ordered.index("sntrup761x25519-sha512@openssh.com")
    assert all(ordered.index(n) < sntrup for n in ordered if n.startswith(("curve25519", "ecdh-sha2", "mlkem")))
    assert all(ordered.index(n) > sntrup for n in ordered if n.startswith("diffie-hellman"))
    others = [n for n in ordered if not n.startswith("sntrup")]
    assert others == [n for n in default if not n.startswith("sntrup")]
    assert scenario_kex_preference(("sntrup761x25519-sha512@openssh.com",)) == ("sntrup761x25519-sha512@openssh.com",)


def test_a_failed_check_in_call_fails_the_cell_and_a_crash_in_it_is_ours() -> None:
    """``Call``: an AssertionError is the scenario's check failing on the peer (FAIL, no
    traceback); any other exception is a harness error (ERROR, with its traceback)."""
    from harness.scenario import Call, Scenario
    from harness.scenario.execute import ERROR, run_one

    def check(ctx: Context) -> None:
        raise AssertionError("the peer echoed late data")

    def broken(ctx: Context) -> None:
        raise KeyError("typo")

    info = SimpleNamespace(peer_id="nobody", address=("127.0.0.1", 9), algorithms={})
    for fn, status in ((check, FAIL), (broken, ERROR)):
        scenario = Scenario(steps=[Call(fn, "a check")])
        scenario.id, scenario.area = "selftest/call", "selftest"
        result = run_one(scenario, "selftest/call", {}, info, 1, None)
        assert result.status == status, result.message
        assert ("Traceback" in result.message) == (status == ERROR), result.message


def test_a_peer_can_ask_scenario_connections_for_its_algorithms() -> None:
    """Uppity 0.78 crashes on chacha20-poly1305 without strict kex: its zoo entry names the
    ciphers scenario connections offer it, and a misspelt option is an error, not ignored."""
    from harness.peers.zoo import ZOO_SERVERS
    from harness.scenario.steps.commands import peer_scenario_options

    uppity = dict(ZOO_SERVERS["uppity-0.78"].scenario_algorithms)
    options = peer_scenario_options({"scenario_algorithms": f"ciphers={','.join(uppity['ciphers'])}"})
    assert options == {"ciphers": uppity["ciphers"]} and "chacha20-poly1305@openssh.com" not in options["ciphers"]
    with pytest.raises(ValueError, match="cipher"):
        peer_scenario_options({"scenario_algorithms": "cipher=aes128-ctr"})


def test_held_output_after_newkeys_goes_out_in_one_write(server) -> None:  # type: ignore[no-untyped-def]
    """``HoldAfterNewKeys``/``ReleaseHeld``: our NEWKEYS of a re-exchange and the KEXINIT queued
    after it reach the socket in one ``sendall``, and the peer (our server) takes both: a third
    exchange completes."""
    from harness.scenario import Call, HoldAfterNewKeys, KexCount, Rekey, ReleaseHeld, WaitKex
    from harness.scenario.execute import run_steps

    writes: list[bytes] = []

    def record_writes(ctx: Context) -> None:
        real = ctx.sock

        class Recording:
            def __getattr__(self, name: str) -> object:
                return getattr(real, name)

            def sendall(self, data: bytes) -> None:
                writes.append(bytes(data))
                real.sendall(data)

        ctx.sock = Recording()  # type: ignore[assignment]

    steps = [Handshake(), HoldAfterNewKeys(), Rekey(), Call(record_writes, "record our writes"),
             Rekey(wait=False), Call(lambda ctx: None if not writes else pytest.fail("wrote while holding")),
             ReleaseHeld(), WaitKex(), KexCount(3)]  # fmt: skip
    failure, ctx = run_steps(_scenario("t/hold", steps=steps), {}, server, 1)
    assert failure is None, failure
    newkeys_packet = 16 + 16 + 16  # the smallest sealed packet: length, padding, tag/MAC
    assert len(writes[0]) > newkeys_packet + 300, writes[0]  # NEWKEYS + a whole KEXINIT in one write
    assert ctx.conn is not None and ctx.conn.kex.count == 3


def test_a_step_can_find_the_scenario_not_applicable_while_it_runs() -> None:
    """``NotApplicableHere`` from a step makes the cell n/a with the step and its reason: no
    verdict, no outcome to pin (Overfill against a client granting a 2 GiB window)."""
    from harness.scenario import Call, NotApplicableHere, Scenario
    from harness.scenario.execute import NA, run_one

    def too_big(ctx: Context) -> None:
        raise NotApplicableHere("the window is 2147483647 bytes")

    scenario = Scenario(steps=[Call(too_big, "look at the window")])
    scenario.id, scenario.area = "selftest/na", "selftest"
    info = SimpleNamespace(peer_id="nobody", address=("127.0.0.1", 9), algorithms={})
    result = run_one(scenario, "selftest/na", {}, info, 1, None, pinned="continued")
    assert result.status == NA, result.message
    assert result.reason == "step 1/1 look at the window: the window is 2147483647 bytes"
    assert not result.outcome and not result.message


def test_a_write_that_fails_reads_first_what_the_peer_sent_before_it_left() -> None:
    """The peer sent DISCONNECT and closed; our next write fails (EPIPE). The DISCONNECT is
    still in our receive buffer and is the peer's reaction: it must be logged before the close,
    not lost behind "write failed" (asyncssh's client, 1 cell in 2,600 under load)."""
    import struct

    from harness.scenario.runner import Closed
    from harness.ssh import events as ev
    from harness.ssh.config import ConnectionConfig

    description = b"Multiple exit results not allowed"
    payload = b"\x01" + struct.pack(">II", 2, len(description)) + description + struct.pack(">I", 0)
    padding = 8 - (5 + len(payload)) % 8 + 8
    packet = struct.pack(">IB", 1 + len(payload) + padding, padding) + payload + bytes(padding)
    a, b = socket.socketpair()
    try:
        ctx = Context(SimpleNamespace(peer_id="x", product="x"), 1, timeout=0.5)
        ctx.new_connection(ConnectionConfig(), a)
        b.sendall(b"SSH-2.0-peer_1.0\r\n" + packet)
        b.close()
        ctx.conn.start()
        ctx.flush()  # version line + KEXINIT into a closed socket
        kinds = [type(event) for event in ctx.log]
        assert ev.Disconnected in kinds and Closed in kinds, ctx.transcript.text()
        assert kinds.index(ev.Disconnected) < kinds.index(Closed)
        disconnect = next(event for event in ctx.log if isinstance(event, ev.Disconnected))
        assert disconnect.by_peer and disconnect.description == description.decode()
    finally:
        a.close()
