"""SSH public and private keys, signatures and known_hosts.

Why a package of its own: kex (host key signatures), auth (publickey) and the facade
(known_hosts, paramiko-style key classes) all need keys, and none should know the key formats.
The SSH encodings live here; the primitive operations live in ``harness.ssh.crypto.signatures``
(the only place that imports ``cryptography``).
"""

from harness.ssh.keys.known_hosts import (
    HostKeyEntry,
    HostKeys,
    RevokedHostKey,
    UnknownHostKey,
    hash_host,
    host_token,
    verify_host_key,
)
from harness.ssh.keys.private import (
    BadKeyFile,
    DSSKey,
    ECDSAKey,
    Ed25519Key,
    IncorrectPassphrase,
    PasswordRequiredException,
    PKey,
    RSAKey,
    load_private_key,
    load_private_key_file,
)
from harness.ssh.keys.public import (
    KEY_TYPES,
    SIGNATURE_ALGORITHMS,
    SUPPORTED_HOST_KEY_ALGORITHMS,
    DSSPublicKey,
    ECDSAPublicKey,
    Ed25519PublicKey,
    PublicKey,
    PublicKeyLine,
    RSAPublicKey,
    decode_signature_blob,
    encode_signature_blob,
    key_type_for_algorithm,
    load_public_key_file,
    parse_public_key,
    parse_public_key_line,
    signature_algorithms_for_key_type,
    split_public_key_line,
)

__all__ = [
    "KEY_TYPES",
    "SIGNATURE_ALGORITHMS",
    "SUPPORTED_HOST_KEY_ALGORITHMS",
    "BadKeyFile",
    "DSSKey",
    "DSSPublicKey",
    "ECDSAKey",
    "ECDSAPublicKey",
    "Ed25519Key",
    "Ed25519PublicKey",
    "HostKeyEntry",
    "HostKeys",
    "IncorrectPassphrase",
    "PKey",
    "PasswordRequiredException",
    "PublicKey",
    "PublicKeyLine",
    "RSAKey",
    "RSAPublicKey",
    "RevokedHostKey",
    "UnknownHostKey",
    "decode_signature_blob",
    "encode_signature_blob",
    "hash_host",
    "host_token",
    "key_type_for_algorithm",
    "load_private_key",
    "load_private_key_file",
    "load_public_key_file",
    "parse_public_key",
    "parse_public_key_line",
    "signature_algorithms_for_key_type",
    "split_public_key_line",
    "verify_host_key",
]
