"""Every scenario can fail (DESIGN.md "Verdicts", rule 5): the whole library against reference
servers of our own with contrasting behaviours (harness/scenario/selfcheck.py), one area per
test so pytest-xdist spreads them. A scenario that no reference can fail is named here."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.scenario.model import CLIENT, discover
from harness.scenario.selfcheck import OPENING_AREAS, REFERENCES, check

ROOT = Path(__file__).resolve().parents[2] / "scenarios"
SCENARIOS = discover(ROOT)
AREAS = sorted({sc.area for sc in SCENARIOS if sc.role == CLIENT})


@pytest.mark.parametrize("area", AREAS)
def test_every_scenario_can_fail(area: str) -> None:
    verdicts = check([sc for sc in SCENARIOS if sc.area == area])
    cannot = [v.describe() for v in verdicts if not v.can_fail]
    assert not cannot, "scenarios that no reference behaviour can fail:\n" + "\n".join(cannot)
    # An unchecked scenario (n/a against every reference: product-specific) is allowed, but most
    # of an area must be checked, or the references have drifted from what scenarios need.
    checked = [v for v in verdicts if not v.unchecked]
    assert len(checked) >= len(verdicts) * 0.6, [v.variant for v in verdicts if v.unchecked]


def test_the_references_really_differ() -> None:
    """Each reference behaviour is what it claims: the same violation meets a different end."""
    from harness.scenario import ExpectClose, Login, Observe, Scenario, Send, UnknownMessage, m  # noqa: F401

    probe = Scenario(steps=[Login(), Send(m.NewKeys()), Observe(1)], informational=True)
    probe.id, probe.area = "selfcheck/newkeys_out_of_phase", "misbehaviour"
    (verdict,) = check([probe])
    outcomes = {name: r.outcome for name, r in verdict.results.items()}
    assert outcomes["rfc"].startswith("DISCONNECT PROTOCOL_ERROR(2)"), outcomes
    assert outcomes["lenient"] == "silent 1 s", outcomes
    assert outcomes["closer"] in ("closed without DISCONNECT", "reset"), outcomes
    assert set(outcomes) == set(REFERENCES) - {"denier", "badsig"}  # opening breakers: opening areas only
    assert "kex" in OPENING_AREAS
