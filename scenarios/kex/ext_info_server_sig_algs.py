"""RFC 8308: we offer ext-info-c, so a server that supports extensions sends EXT_INFO after its
first NEWKEYS, with server-sig-algs naming the signature algorithms it accepts (RSA SHA-2 must
be there for RSA user keys to work with modern servers)."""

from harness.scenario import *


def _has_sig_algs(extensions):
    return any(name == "server-sig-algs" for name, _ in extensions)


SCENARIO = Scenario(
    requires=[NotProduct(("tinyssh",), "tinysshd implements no RFC 8308 extensions (EXT_INFO is optional)")],
    steps=[Handshake(), Expect(m.ExtInfo, extensions=_has_sig_algs)],
)
