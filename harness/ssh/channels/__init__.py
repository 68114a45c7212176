"""Connection protocol channels (RFC 4254)."""
