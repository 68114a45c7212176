"""200 session channels opened and closed one after another on one connection (every 50th runs a
command): channel ids are reused correctly and nothing leaks."""

from harness.scenario import *


def _steps(p):
    steps = [Login()]
    for i in range(200):
        if i % 50 == 0:
            steps += [Session(f"echo {i}", name=f"c{i}"), ExpectOutput(f"c{i}", stdout=f"{i}\n".encode())]
        else:
            steps += [OpenChannel(f"c{i}"), CloseChannel(f"c{i}")]
    return steps


SCENARIO = Scenario(
    requires=[NotProduct(("tinyssh",), "tinysshd allows one session channel per connection")],
    steps=_steps,
)
