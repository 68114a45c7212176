"""Packet layer: identification exchange and RFC 4253 binary packet framing."""
