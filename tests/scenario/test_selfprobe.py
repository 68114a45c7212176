"""The self-probe (issue #19): both roles of our own stack face the hostile peer the scenario
engine makes, every misbehaviour family in both directions (harness/scenario/selfprobe.py).

Every client-role scenario variant (scenarios/ except scenarios/client) runs against the ``rfc``
reference server of the self-check (our server as it is); every server-role variant against the
``rfc`` reference client (our client as it is, logging in as an interactive user does:
ProbeClientTarget). Per cell: the result is pass, n/a (the scenario needs something the
reference server is not set up for: a banner, AcceptEnv, a rekey limit...), or a strict
xfail listed in DEVIATIONS with its reason; an XPASS fails, so the table cannot go stale. Per
batch: no traceback in the logs or in any thread, no thread, descriptor (no tolerance: a warm-up
login runs before the snapshot) or child process left once SETTLE_BOUND has passed, and normal
logins to the reference server succeed during and after it. Server-role batches run the same
logins: there they show that our client's failures left the process able to serve and log in.

Why batches, not a leak check per cell: threads, descriptors and children belong to the whole
process, so a per-cell check forces one cell at a time (about 90 s on 2 cores, over the
budget of a test file). Cells run in parallel within one batch per (our role, area), about 16 s
in all with -n 2; a batch with a problem is run again cell by cell, and the failure names the
batch and the cell.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.scenario.execute import NA, PASS, XFAIL, run_one
from harness.scenario.expectations import Expectation
from harness.scenario.model import discover
from harness.scenario.selfcheck import Job, reference, variants
from harness.scenario.selfcheck_clients import server_variants
from harness.scenario.selfprobe import ProbeClientTarget, probe

ROOT = Path(__file__).resolve().parents[2] / "scenarios"
SCENARIOS = discover(ROOT)
CELLS = {"server": variants(SCENARIOS), "client": server_variants(SCENARIOS)}  # keyed by OUR role
SOURCE = "tests/scenario/test_selfprobe.py DEVIATIONS"


def _deviation(reason: str, match: str | tuple[str, ...]) -> Expectation:
    return Expectation("", "xfail", reason, match, True, source=SOURCE)


# Where our own stack does not pass a scenario, and why. Each entry is a strict xfail: its
# failure must contain ``match``, and a cell that starts passing fails until it is removed.
DEVIATIONS: dict[str, Expectation] = {
    "channels/env_refused": _deviation(
        "harness serve passes every environment variable on to the command (the user's own account "
        "runs it); RFC 4254 6.4 leaves the choice to the server, sshd's AcceptEnv is a policy",
        "got CHANNEL_SUCCESS"),
    "misbehaviour/out_of_phase[connected_service_request]": _deviation(
        "a SERVICE_REQUEST after login is refused as RFC 4253 10 says a refused service is: "
        "DISCONNECT SERVICE_NOT_AVAILABLE (7); the scenario accepts only UNIMPLEMENTED or PROTOCOL_ERROR",
        "got: DISCONNECT(reason=7"),
}  # fmt: skip


def _batches() -> list[tuple[str, str]]:
    return sorted({(role, sc.area) for role, cells in CELLS.items() for sc, _, _ in cells})


def _host_keys() -> list[Any]:
    """Every host key type we implement besides the reference's Ed25519: the per-type cells
    (kex/host_key_each, kex/guess_wrong_host_key) then run against our server's signatures."""
    from harness.ssh.keys import DSSKey, ECDSAKey, RSAKey

    return [ECDSAKey.generate(256), ECDSAKey.generate(384), ECDSAKey.generate(521), RSAKey.generate(2048),
            DSSKey.generate()]  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    """The rfc reference server (our server as it is), shared by the module's batches."""
    with (tempfile.TemporaryDirectory(prefix="harness-selfprobe-") as tmp,
          reference("rfc", Path(tmp), _host_keys()) as ref):  # fmt: skip
        yield ref.info


def _one_against(server: Any, role: str) -> Any:
    def one(job: Job) -> tuple[str, str, Any]:
        sc, variant, params, behaviour = job
        expectation = DEVIATIONS.get(variant)
        if role == "server":
            return variant, behaviour, run_one(sc, variant, params, server, 1, expectation)
        target = ProbeClientTarget()
        return variant, behaviour, run_one(sc, variant, params, target.info, 1, expectation, target)

    return one


@pytest.mark.parametrize(("role", "area"), _batches(), ids=[f"our-{r}:{a}" for r, a in _batches()])
def test_our_stack_against_hostile_peers(server: Any, role: str, area: str) -> None:
    cells = [cell for cell in CELLS[role] if cell[0].area == area]
    report = probe(f"our {role}, {area} ({len(cells)} cells)", cells, _one_against(server, role), server)
    wrong = [f"{variant}: {r.status} ({r.outcome or r.reason or '-'}): {r.message.splitlines()[0] if r.message else ''}"
             for variant, r in report.results.items() if r.status not in (PASS, XFAIL, NA)]  # fmt: skip
    message = ["cells where our stack did not react as required (or DEVIATIONS is stale):", *wrong] if wrong else []
    message += [report.describe()] if report.problems else []
    assert not message, "\n".join(message)


def test_deviations_name_real_cells() -> None:
    """Every entry of DEVIATIONS names a cell the probe runs (a renamed scenario is noticed)."""
    known = {variant for cells in CELLS.values() for _, variant, _ in cells}
    assert set(DEVIATIONS) <= known, sorted(set(DEVIATIONS) - known)
    assert len(known) >= 350  # both roles, every family: the probe did not lose half the library


def _cells(*ids: str) -> list[Any]:
    return [cell for cell in CELLS["server"] if cell[1] in ids]


def test_the_probe_sees_leaks_and_tracebacks_and_names_the_cell(server: Any) -> None:
    """The checks can fail: a cell whose run leaves a thread, a file and a child behind and logs
    a traceback is caught, and the cell-by-cell rerun names it and not its clean neighbour."""
    release, held = threading.Event(), []
    plain = _one_against(server, "server")

    def leaky(job: Job) -> tuple[str, str, Any]:
        out = plain(job)
        if job[1] == "sanity/handshake":
            threading.Thread(target=release.wait, name="planted-leak", daemon=True).start()
            held.append(open(os.devnull, "rb"))  # noqa: SIM115 (left open on purpose)
            held.append(subprocess.Popen(["sleep", "60"]))
            try:
                raise RuntimeError("planted")
            except RuntimeError:
                logging.getLogger("harness.selfprobe_test").warning("planted failure", exc_info=True)
        return out

    try:
        report = probe("planted", _cells("sanity/handshake", "service/refused[unknown]"), leaky, server,
                       settle_bound=0.5)  # fmt: skip
    finally:
        release.set()
        for thing in held:
            if isinstance(thing, subprocess.Popen):
                thing.kill()
                thing.wait(5)
            else:
                thing.close()
    text = report.describe()
    assert "thread 'planted-leak'" in text and "file descriptor" in text and "child process" in text, text
    assert any("planted failure" in line and "exc_info" in line for line in report.tracebacks), text
    assert list(report.culprits) == ["sanity/handshake"], text


def test_the_probe_sees_a_server_that_stops_serving(tmp_path: Path) -> None:
    with reference("rfc", tmp_path) as ref:
        plain = _one_against(ref.info, "server")

        def stopping(job: Job) -> tuple[str, str, Any]:
            out = plain(job)
            ref.listener.close()  # as a server whose accept loop died would
            return out

        report = probe("stopping", _cells("sanity/handshake"), stopping, ref.info, settle_bound=0.5)
    assert any("after the batch failed" in line for line in report.serving), report.describe()
