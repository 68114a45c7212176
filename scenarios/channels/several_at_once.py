"""Three session channels open at once, each running its own command: outputs must not mix."""

from harness.scenario import *

SCENARIO = Scenario(
    requires=[NotProduct(("tinyssh",), "tinysshd allows one session channel per connection")],
    steps=[Login(), OpenChannel("a"), OpenChannel("b"), OpenChannel("c"),
           Exec("echo a", "a"), Exec("echo b", "b"), Exec("echo c", "c"),
           ExpectOutput("c", stdout=b"c\n"), ExpectOutput("b", stdout=b"b\n"), ExpectOutput("a", stdout=b"a\n")],
)
