"""Every numeric limit of the core, each with the reason for its value."""

# RFC 4253 4.2: the identification line is at most 255 characters including CR LF.
MAX_VERSION_LINE = 255
# Servers may send lines before the identification string; OpenSSH's client accepts up to 1024
# of them. We use the same bound so a peer that streams garbage cannot hold us forever.
MAX_PRE_BANNER_LINES = 1024
# Total bytes accepted before the identification line (1024 lines of the maximum length).
MAX_PRE_BANNER_BYTES = MAX_PRE_BANNER_LINES * MAX_VERSION_LINE
# RFC 4253 6.1 requires 35000; OpenSSH accepts up to 256 KiB packets. We accept what OpenSSH
# accepts so large CHANNEL_DATA from real peers works, and nothing larger.
MAX_PACKET_LENGTH = 256 * 1024
# RFC 4253 6: at least 4 bytes of padding, at most 255 (one byte).
MIN_PADDING = 4
# The smallest packet_length that can hold padding_length, one payload byte and 4 padding bytes.
MIN_PACKET_LENGTH = 1 + 1 + MIN_PADDING - 1  # payload may be empty only for malformed peers; we
# still require room for padding_length + MIN_PADDING, checked in the framing code.
# Our own outgoing payloads stay within RFC 4253 6.1's 32768-byte guarantee, whatever the peer
# advertises: channel data is chunked to fit (channels.table.data_chunk_limit) and
# Connection.send_payload refuses anything larger (send_unchecked is the misbehaviour seam).
MAX_OUR_PAYLOAD = 32768
# Channel window we grant: a few MiB bounds memory per channel while keeping loopback bulk
# transfers from stalling on window adjusts (OpenSSH uses 2 MiB; so do we).
DEFAULT_WINDOW = 2 * 1024 * 1024
# Largest CHANNEL_DATA payload we accept per packet (OpenSSH's default is 32 KiB).
DEFAULT_MAX_PACKET = 32768
# Channels per connection: far above any real use; bounds the channel table against floods.
MAX_CHANNELS = 1024
# Outstanding global requests with want_reply that we sent and still await.
MAX_PENDING_GLOBAL_REQUESTS = 256
# Rekey after this much data in either direction (RFC 4344 3.2 suggests 2**(L/4) blocks for
# 16-byte block ciphers = 2**32 blocks; OpenSSH rekeys far earlier, at 1 GiB-ish for AES: we
# pick 1 GiB as a conservative default that is configurable).
DEFAULT_REKEY_BYTES = 1 << 30
# RFC 4344 3.1: rekey at least every 2**31 packets (sequence numbers wrap at 2**32).
DEFAULT_REKEY_PACKETS = 1 << 31
# Decompressed payload limit: the packet limit, since a payload never legitimately exceeds it.
MAX_DECOMPRESSED = MAX_PACKET_LENGTH
# Authentication attempts a client makes before giving up on one method series (sanity bound).
MAX_AUTH_ATTEMPTS = 20
# keyboard-interactive: prompts per INFO_REQUEST (OpenSSH allows 100).
MAX_KBDINT_PROMPTS = 100
