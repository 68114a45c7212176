"""subsystem sftp: the request succeeds and the server answers SSH_FXP_INIT (version 3) with
SSH_FXP_VERSION."""

from harness.scenario import *

INIT = Writer().uint32(5).byte(1).uint32(3).getvalue()

SCENARIO = Scenario(
    requires=[NotProduct(("tinyssh",), "tinysshd serves no subsystems unless started with -x")],
    steps=[Login(), OpenChannel(), Request(m.ChannelRequestSubsystem(want_reply=True, subsystem="sftp")),
           SendData(INIT), ExpectData(lambda out: len(out) >= 9 and out[4] == 2, description="SSH_FXP_VERSION")],
)
