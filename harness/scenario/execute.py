"""Run one scenario against one peer and classify the result against the expectations."""

from __future__ import annotations

import time
import traceback
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.scenario.expectations import Expectation
from harness.scenario.model import Scenario
from harness.scenario.outcome import cell_outcome, matches_pin, ours_ended_it
from harness.scenario.runner import Context, NotApplicableHere, StepFailure
from harness.scenario.steps import flatten

PASS, FAIL, XFAIL, XPASS, NA, ERROR = "pass", "fail", "xfail", "xpass", "n/a", "error"
OUTCOME_CHANGED = "outcome changed: "  # how a pin mismatch's message starts


@dataclass
class Result:
    scenario: str
    area: str
    peer: str
    status: str
    message: str = ""
    reason: str = ""  # n/a reason or expectation reason
    outcome: str = ""  # what the peer did, in the vocabulary of harness.scenario.outcome
    seed: int = 0
    seconds: float = 0.0
    transcript: str = ""
    doc: str = ""
    rerun: str = ""
    peer_log: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    branch: str = ""  # OneOf branch names taken
    pin: str = ""  # the pinned outcome(s) of this cell ("" = not pinned)
    # The RFC verdict, a column apart from the pinned outcome: conforms (passed the scenario's
    # expectations), deviates (a known deviation, with its reason), informational (the RFC
    # does not say what a peer must do: the pin is the whole check), "" (needs attention).
    verdict: str = ""
    role: str = "client"  # our role: client = a server peer, server = a client peer connects
    position: str = ""  # "first"/"last" for the sanity runs around a peer's cells

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def run_steps(scenario: Scenario, params: dict[str, Any], info: Any, seed: int,
              target: Any = None) -> tuple[str | None, Context]:  # fmt: skip
    """Run the steps; returns (failure message or None, context)."""
    ctx = Context(info, seed, scenario.timeout, scenario.role, target)
    ctx.strict_kex = scenario.strict_kex
    steps = flatten(scenario.build(params))
    failure: str | None = None
    try:
        for index, step in enumerate(steps, 1):
            ctx.step_label = f"step {index}/{len(steps)} {step.describe()}"
            step.run(ctx)
    except NotApplicableHere as exc:
        ctx.vars["_not_applicable"] = f"{ctx.step_label}: {exc}"
    except StepFailure as exc:
        failure = str(exc)
        ours = ours_ended_it(ctx, ctx.fail_start if ctx.fail_start is not None else ctx.expect_pos)
        if ours is not None:  # know the closer: our own refusal is never the peer's reaction
            failure = (f"harness-side ending: our core refused the peer's input before the peer reacted "
                       f"({ours}); {failure}")  # fmt: skip
            ctx.vars["_harness_error"] = True
    except Exception as exc:  # a scenario or harness error, reported as such with its traceback
        failure = f"{ctx.step_label}: harness error {type(exc).__name__}: {exc}\n{traceback.format_exc()}"
        ctx.vars["_harness_error"] = True
    finally:
        ctx.close()
    return failure, ctx


def classify(peer: str, failure: str | None, expectation: Expectation | None,
             harness_error: bool = False) -> tuple[str, str, str]:  # fmt: skip
    """(status, message, reason) from a run's failure (None = passed) and the peer's expectation."""
    if expectation is None or expectation.status != "xfail":
        if failure is None:
            return PASS, "", ""
        return (ERROR if harness_error else FAIL), failure, ""
    if failure is None and not expectation.strict:
        return PASS, "", f"known to fail intermittently: {expectation.reason}"
    if failure is None:
        return XPASS, (f"expected to fail on {peer} ({expectation.reason}) but passed: "
                       f"update {expectation.source}"), expectation.reason  # fmt: skip
    wanted = (expectation.match,) if isinstance(expectation.match, str) else expectation.match
    if expectation.match and not any(text in failure for text in wanted):
        return FAIL, (f"failed, but not as expected on {peer}: the expectation in {expectation.source} "
                      f"wants {expectation.match!r} in the failure message.\n{failure}"), \
            expectation.reason  # fmt: skip
    return XFAIL, failure, expectation.reason


def verdict_of(status: str, informational: bool) -> str:
    if status == PASS:
        return "informational" if informational else "conforms"
    if status == XFAIL:
        return "deviates"
    return ""


def check_pin(result: Result, pinned: Any, source: str, updating: bool) -> None:
    """Compare the observed outcome with the peer's pin; a difference fails the cell (was/now)."""
    from harness.scenario.pins import describe

    result.pin = describe(pinned) if pinned is not None else ""
    if updating or result.status in (NA, ERROR) or not result.outcome:
        return
    if pinned is None:
        return  # unpinned: the report lists it; --require-pins makes it a failure
    if matches_pin(result.outcome, pinned):
        return
    change = (f"{OUTCOME_CHANGED}was {describe(pinned)}, now {result.outcome} "
              f"(pinned in {source}; review, then `harness run --update-outcomes`)")  # fmt: skip
    result.message = change + (f"\n{result.message}" if result.message else "")
    result.status, result.verdict = FAIL, ""


def run_one(scenario: Scenario, variant: str, params: dict[str, Any], info: Any, seed: int,
            expectation: Expectation | None, target: Any = None, pinned: Any = None,
            pin_source: str = "", updating: bool = False, crash: Any = None) -> Result:  # fmt: skip
    """Run one cell and classify it: RFC verdict from the expectations, outcome against the pin.

    ``crash`` (a callable returning a description or None) asks the peer's launcher whether
    the peer died during the cell."""
    started = time.monotonic()
    result = Result(variant, scenario.area, info.peer_id, NA, seed=seed, doc=(scenario.doc.splitlines() or [""])[0],
                    role=scenario.role)  # fmt: skip
    if expectation is not None and expectation.status == "n/a":
        result.reason = expectation.reason
        return result
    na = scenario.not_applicable(info, params)
    if na:
        result.reason = na
        return result
    failure, ctx = run_steps(scenario, params, info, seed, target)
    harness_error = bool(ctx.vars.get("_harness_error"))
    died = crash() if crash is not None else None
    if ctx.vars.get("_not_applicable") and not died:
        result.reason = ctx.vars["_not_applicable"]
        result.seconds = round(time.monotonic() - started, 3)
        return result
    if died:
        # A peer must never crash, whatever we sent: the cell fails even where the scenario's
        # expectations were met (a crash that closed the connection "passes" an ExpectClose).
        failure = f"peer crashed ({died})" + (f"; {failure}" if failure else "")
        harness_error = False  # the peer's death, not ours, ended the cell
    status, message, reason = classify(info.peer_id, failure, expectation, harness_error)
    result.status, result.message, result.reason = status, message, reason
    result.branch = ",".join(ctx.outcomes)
    if not harness_error:
        result.outcome = cell_outcome(ctx, failure is not None, died)
    result.verdict = verdict_of(result.status, scenario.is_informational(params))
    result.seconds = round(time.monotonic() - started, 3)
    report = getattr(target, "report", None)
    if callable(report):
        result.extra["client_run"] = _jsonable(report())
    if expectation is not None and expectation.outcome and result.branch != expectation.outcome \
            and status == PASS:  # fmt: skip
        result.status, result.verdict = FAIL, ""
        result.message = (f"branch {result.branch!r} differs from the recorded {expectation.outcome!r} "
                          f"({expectation.source}): update the expectation if the change is right")  # fmt: skip
    check_pin(result, pinned, pin_source, updating)
    if result.status in (FAIL, ERROR, XFAIL, XPASS) or result.verdict == "informational":
        result.transcript = ctx.transcript.text()
    return result


def _jsonable(value: Any) -> Any:
    """A launcher's report (a dataclass or dict) as plain JSON data."""
    from dataclasses import asdict, is_dataclass

    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    try:
        import json

        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)
