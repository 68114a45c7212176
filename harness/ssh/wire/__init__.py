"""Wire layer: the strict RFC 4251 codec and typed SSH messages."""
