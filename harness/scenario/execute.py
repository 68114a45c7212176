"""Run one scenario against one peer and classify the result against the expectations."""

from __future__ import annotations

import time
import traceback
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.scenario.expectations import Expectation
from harness.scenario.model import Scenario
from harness.scenario.runner import Context, StepFailure
from harness.scenario.steps import flatten

PASS, FAIL, XFAIL, XPASS, NA, ERROR = "pass", "fail", "xfail", "xpass", "n/a", "error"


@dataclass
class Result:
    scenario: str
    area: str
    peer: str
    status: str
    message: str = ""
    reason: str = ""  # n/a reason or expectation reason
    outcome: str = ""  # branch names taken in OneOf steps
    seed: int = 0
    seconds: float = 0.0
    transcript: str = ""
    doc: str = ""
    rerun: str = ""
    peer_log: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def run_steps(scenario: Scenario, params: dict[str, Any], info: Any, seed: int,
              target: Any = None) -> tuple[str | None, Context]:  # fmt: skip
    """Run the steps; returns (failure message or None, context)."""
    ctx = Context(info, seed, scenario.timeout, scenario.role, target)
    steps = flatten(scenario.build(params))
    failure: str | None = None
    try:
        for index, step in enumerate(steps, 1):
            ctx.step_label = f"step {index}/{len(steps)} {step.describe()}"
            step.run(ctx)
    except StepFailure as exc:
        failure = str(exc)
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


def run_one(scenario: Scenario, variant: str, params: dict[str, Any], info: Any, seed: int,
            expectation: Expectation | None, target: Any = None) -> Result:  # fmt: skip
    started = time.monotonic()
    result = Result(variant, scenario.area, info.peer_id, NA, seed=seed, doc=(scenario.doc.splitlines() or [""])[0])
    if expectation is not None and expectation.status == "n/a":
        result.reason = expectation.reason
        return result
    na = scenario.not_applicable(info, params)
    if na:
        result.reason = na
        return result
    failure, ctx = run_steps(scenario, params, info, seed, target)
    status, message, reason = classify(info.peer_id, failure, expectation, bool(ctx.vars.get("_harness_error")))
    result.status, result.message, result.reason = status, message, reason
    result.outcome = ",".join(ctx.outcomes)
    result.seconds = round(time.monotonic() - started, 3)
    if status in (FAIL, ERROR, XFAIL, XPASS):
        result.transcript = ctx.transcript.text()
    if expectation is not None and expectation.outcome and result.outcome != expectation.outcome \
            and status == PASS:  # fmt: skip
        result.status = FAIL
        result.message = (f"outcome {result.outcome!r} differs from the recorded {expectation.outcome!r} "
                          f"({expectation.source}): update the expectation if the change is right")  # fmt: skip
    return result
