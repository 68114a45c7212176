"""Language name-lists that are not empty (an RFC 3066 tag and an unknown one): RFC 4253 7.1
says both parties MAY ignore these lists, and nothing is negotiated from them, so the key
exchange must complete as usual."""

from harness.scenario import *


def _languages(msg, ctx):
    msg.languages_client_to_server = ("en-US", "x-harness")
    msg.languages_server_to_client = ("de", "x-harness")
    return msg


SCENARIO = Scenario(timeout=3, steps=[Connect(kexinit=_languages), WaitKex(timeout=3)])
