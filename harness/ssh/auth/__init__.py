"""User authentication (RFC 4252), client side."""
