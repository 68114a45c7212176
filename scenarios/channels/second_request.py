"""A second shell/exec/subsystem request on a session channel whose first one succeeded: RFC 4254
6.5 says only one of these requests will succeed per channel, so the second must get
CHANNEL_FAILURE (and the channel keeps running its first program)."""

from harness.scenario import *

EXEC = m.ChannelRequestExec(want_reply=True, command=b"cat")
SHELL = m.ChannelRequestShell(want_reply=True)
SUBSYSTEM = m.ChannelRequestSubsystem(want_reply=True, subsystem="sftp")
PAIRS = {"exec_exec": (EXEC, EXEC), "exec_shell": (EXEC, SHELL), "shell_exec": (SHELL, EXEC),
         "exec_subsystem": (EXEC, SUBSYSTEM)}

SCENARIO = Scenario(
    timeout=3,
    params={"pair": tuple(PAIRS)},
    steps=lambda p: [Login(), OpenChannel(), Request(PAIRS[p["pair"]][0], expect=True),
                     Request(PAIRS[p["pair"]][1], expect=False)],
)
