"""Every server-role scenario can fail (DESIGN.md "Verdicts", rule 5): each one against reference
clients of our own with contrasting behaviours (harness/scenario/selfcheck_clients.py), one
scenario file per test so pytest-xdist spreads them. A scenario no reference can fail is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.scenario import AUTH_HELD, Expect, Handshake, Observe, Scenario, Send, Settle, m
from harness.scenario.model import SERVER, discover
from harness.scenario.selfcheck_clients import CLIENT_REFERENCES, check_clients

ROOT = Path(__file__).resolve().parents[2] / "scenarios"
SCENARIOS = [sc for sc in discover(ROOT) if sc.role == SERVER]


def test_there_are_client_role_scenarios() -> None:
    assert len([v for sc in SCENARIOS for v in sc.variants()]) >= 40
    assert any(sc.area == "client" for sc in SCENARIOS)


@pytest.mark.parametrize("scenario_id", sorted(sc.id for sc in SCENARIOS))
def test_every_client_role_scenario_can_fail(scenario_id: str) -> None:
    verdicts = check_clients([sc for sc in SCENARIOS if sc.id == scenario_id])
    cannot = [v.describe() for v in verdicts if not v.can_fail]
    assert not cannot, "client-role scenarios that no reference client can fail:\n" + "\n".join(cannot)
    assert all(not v.unchecked for v in verdicts), [v.variant for v in verdicts if v.unchecked]


def test_the_reference_clients_really_differ() -> None:
    """Each reference client is what it claims: the same server violation meets a different end."""
    probe = Scenario(role=SERVER, informational=True, timeout=3,
                     steps=[Handshake(held_messages=AUTH_HELD), Expect(m.ServiceRequest), Settle(),
                            Send(m.ServiceAccept(service="ssh-connection")), Observe(1)])  # fmt: skip
    probe.id, probe.area = "selfcheck/service_accept_unasked", "client"
    (verdict,) = check_clients([probe])
    outcomes = {name: r.outcome for name, r in verdict.results.items()}
    assert outcomes["rfc"].startswith("DISCONNECT PROTOCOL_ERROR(2)"), outcomes
    assert outcomes["lenient"] == "silent 1 s", outcomes
    assert outcomes["closer"] in ("closed without DISCONNECT", "reset"), outcomes
    assert set(outcomes) == set(CLIENT_REFERENCES) - {"stranger"}  # the opening breaker: opening areas only
