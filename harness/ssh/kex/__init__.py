"""Key exchange: algorithm negotiation, kex methods, exchange hash and key derivation."""
