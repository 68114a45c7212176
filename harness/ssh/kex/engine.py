"""Key exchange orchestration: KEXINIT, the method, NEWKEYS, strict kex, ext-info.

Why separate from the connection: the connection routes messages; this object owns what a key
exchange means (which messages are legal when, what gets hashed, when keys switch). It talks
to the connection through a narrow interface: send a message, install new protection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.ssh import events as ev
from harness.ssh.crypto import compression as comp
from harness.ssh.crypto import protection as prot
from harness.ssh.errors import HostKeyMismatch, KexError, RemoteProtocolError
from harness.ssh.kex.exchange import DirectionKeys, derive_direction_keys, exchange_hash
from harness.ssh.kex.methods import KEX_METHODS, ClientKex, KexOutcome
from harness.ssh.kex.negotiate import Negotiated, negotiate
from harness.ssh.kex.server_methods import ServerOutcome, make_server_kex
from harness.ssh.keys import parse_public_key
from harness.ssh.wire import messages as m
from harness.ssh.wire.message import Message

if TYPE_CHECKING:
    from harness.ssh.connection import Connection

STRICT_C = "kex-strict-c-v00@openssh.com"
STRICT_S = "kex-strict-s-v00@openssh.com"
EXT_INFO_C = "ext-info-c"
EXT_INFO_S = "ext-info-s"


@dataclass(frozen=True)
class KexSecrets:
    """What a key log needs from one finished key exchange (the ``kex_observer`` seam).

    ``shared_secret`` is K encoded for hashing (an mpint, or a string for the hybrid KEMs);
    ``ephemeral_private`` is our private value where the method has one a key-log reader can
    use (X25519), else None. Cookies are the 16 bytes of each side's KEXINIT.
    """

    kex: str
    is_client: bool
    client_cookie: bytes
    server_cookie: bytes
    shared_secret: bytes
    ephemeral_private: bytes | None


@dataclass
class PendingKeys:
    """Keys derived but not yet active in one direction (until NEWKEYS)."""

    install: Callable[[], None]


class KexEngine:
    """One per connection; runs the first exchange and every rekey."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.session_id: bytes | None = None
        self.count = 0  # completed exchanges
        self.strict = False
        self.in_progress = False
        self.our_kexinit: bytes | None = None  # payload bytes of the KEXINIT we sent
        # What we meant by it: negotiation reads this, so a scenario may put bytes on the wire
        # that our own strict decoder would refuse (a malformed name-list, trailing bytes)
        # while the hash still covers exactly what was sent.
        self.our_kexinit_msg: Message | None = None
        self.peer_kexinit: bytes | None = None
        self.peer_kexinit_msg: Message | None = None
        self.negotiated: Negotiated | None = None
        self.method: ClientKex | None = None
        self.context: str | None = None  # message layout of 30-49 for the running method
        self.ignore_next_kex_packet = False
        self.sent_newkeys = False
        self.received_newkeys = False
        self._incoming: PendingKeys | None = None
        self.peer_ext_info = False
        self.host_key: bytes | None = None
        self.host_key_algorithm: str | None = None
        self.exchange_hash: bytes | None = None
        self.guessed: str | None = None  # kex method we started before the peer's KEXINIT
        # The protection most recently derived per direction (cipher spec, MAC spec, keys):
        # the seam through which scenarios and fuzzers craft packets "as the peer".
        self.last_incoming: tuple[Any, Any, DirectionKeys] | None = None
        self.last_outgoing: tuple[Any, Any, DirectionKeys] | None = None

    # -- our KEXINIT ------------------------------------------------------------------------

    def build_kexinit(self) -> Message:
        cfg = self.conn.config
        kex = list(cfg.kex)
        if self.count == 0:
            if self.conn.is_client:
                if cfg.ext_info:
                    kex.append(EXT_INFO_C)
                if cfg.strict_kex:
                    kex.append(STRICT_C)
            else:
                if cfg.ext_info:
                    kex.append(EXT_INFO_S)
                if cfg.strict_kex:
                    kex.append(STRICT_S)
        return m.KexInit(
            cookie=self.conn.randbytes(16),
            kex_algorithms=tuple(kex),
            server_host_key_algorithms=self.conn.host_key_algorithms_to_offer(),
            encryption_client_to_server=cfg.ciphers,
            encryption_server_to_client=cfg.ciphers,
            mac_client_to_server=cfg.macs,
            mac_server_to_client=cfg.macs,
            compression_client_to_server=cfg.compression,
            compression_server_to_client=cfg.compression,
            languages_client_to_server=(),
            languages_server_to_client=(),
            first_kex_packet_follows=False,
            reserved=0,
        )

    def start(self, kexinit: Message | None = None) -> None:
        """Send our KEXINIT (a scenario may pass a hand-made one)."""
        if self.our_kexinit is not None:
            return
        msg = kexinit or self.build_kexinit()
        guess = self.conn.config.kex_guess and self.conn.is_client and self.peer_kexinit is None
        if guess:
            msg.first_kex_packet_follows = True
        payload = msg.encode()
        self.our_kexinit, self.our_kexinit_msg = payload, msg
        self.in_progress = True
        self.conn.emit(ev.KexStarted(initiated_by_us=self.peer_kexinit is None))
        if kexinit is None:
            self.conn.send_payload(payload, kex=True)
        else:  # a scenario's hand-made KEXINIT goes out as made, even past our own size limit
            self.conn.send_unchecked(payload)
        if self.peer_kexinit is not None:
            self._begin_method()
        elif guess:
            # RFC 4253 7: send our first kex packet right away, guessing the outcome.
            self.guessed = msg.kex_algorithms[0]
            self.method = KEX_METHODS[self.guessed].make_client(self.conn.randbytes)
            self.context = self.method.context
            for out in self.method.start():
                self.conn.send_message(out, kex=True)

    # -- incoming ---------------------------------------------------------------------------

    def on_kexinit(self, msg: Message, payload: bytes) -> None:
        if self.peer_kexinit is not None:
            raise RemoteProtocolError("second KEXINIT during a key exchange")
        strict = self.conn.config.strict_kex and self._peer_wants_strict(msg)
        if self.count == 0 and strict and self.conn.reader.last_seq != 0:
            raise RemoteProtocolError("strict kex: KEXINIT was not the first packet")
        self.peer_kexinit = payload
        self.peer_kexinit_msg = msg
        self.in_progress = True
        if self.our_kexinit is None:
            self.start()
        else:
            self._begin_method()

    def _peer_wants_strict(self, msg: Message) -> bool:
        marker = STRICT_S if self.conn.is_client else STRICT_C
        return marker in msg.kex_algorithms

    def _begin_method(self) -> None:
        assert self.our_kexinit is not None and self.peer_kexinit_msg is not None
        ours = self.our_kexinit_msg or m.KexInit.decode(self.our_kexinit)
        peer = self.peer_kexinit_msg
        client, server = (ours, peer) if self.conn.is_client else (peer, ours)
        self.negotiated = negotiate(client, server, prot.AEAD_CIPHERS)
        if self.count == 0:
            cfg = self.conn.config
            self.strict = cfg.strict_kex and self._peer_wants_strict(peer)
            if self.conn.is_client:
                self.peer_ext_info = EXT_INFO_S in peer.kex_algorithms
            else:
                self.peer_ext_info = EXT_INFO_C in peer.kex_algorithms
        if peer.first_kex_packet_follows and not self.negotiated.guess_was_right:
            self.ignore_next_kex_packet = True
        spec = KEX_METHODS[self.negotiated.kex]
        if self.guessed is not None:
            right = self.negotiated.guess_was_right and self.guessed == spec.name
            self.guessed = None
            if right:
                return  # our guessed method is already running
        if self.conn.is_client:
            self.method = spec.make_client(self.conn.randbytes)
            self.context = self.method.context
            for out in self.method.start():
                self.conn.send_message(out, kex=True)
        else:
            self.method = make_server_kex(spec.name, self.conn.randbytes, self.conn.moduli)
            self.context = self.method.context

    def on_method_message(self, msg: Message) -> None:
        if self.ignore_next_kex_packet:
            self.ignore_next_kex_packet = False
            return
        if self.method is None or self.sent_newkeys:
            raise RemoteProtocolError(f"unexpected {msg.NAME}: no key exchange method is running")
        result = self.method.handle(msg)
        if isinstance(result, KexOutcome):
            self._finish_client(result)
        elif isinstance(result, ServerOutcome):
            self._finish_server(result)
        else:
            for out in result:
                self.conn.send_message(out, kex=True)

    def _finish_client(self, outcome: KexOutcome) -> None:
        neg = self.negotiated
        assert neg is not None and self.our_kexinit is not None and self.peer_kexinit is not None
        spec = KEX_METHODS[neg.kex]
        h = exchange_hash(
            spec.hash_name,
            self.conn.our_version_line,
            self.conn.peer_version_line,
            self.our_kexinit,
            self.peer_kexinit,
            outcome.host_key,
            outcome.hash_body,
            outcome.shared_secret,
        )
        key = parse_public_key(outcome.host_key)
        from harness.ssh.keys import key_type_for_algorithm

        if key.key_type != key_type_for_algorithm(neg.host_key):
            raise KexError(f"server sent a {key.key_type} host key for negotiated algorithm {neg.host_key}")
        if self.host_key is not None and outcome.host_key != self.host_key:
            raise HostKeyMismatch("server's host key changed during a rekey")
        verifier = self.conn.config.host_key_verifier
        if verifier is not None and self.count == 0:
            verifier(neg.host_key, outcome.host_key)
        if not key.verify(neg.host_key, h, outcome.signature):
            raise KexError(f"host key signature ({neg.host_key}) does not verify over the exchange hash")
        self.host_key = outcome.host_key
        self.host_key_algorithm = neg.host_key
        self.install_keys(spec.hash_name, outcome.shared_secret, h)

    def _finish_server(self, outcome: ServerOutcome) -> None:
        neg = self.negotiated
        assert neg is not None and self.our_kexinit is not None and self.peer_kexinit is not None
        spec = KEX_METHODS[neg.kex]
        host_key = self.conn.host_key_for(neg.host_key)
        blob = host_key.asbytes()
        h = exchange_hash(
            spec.hash_name,
            self.conn.peer_version_line,
            self.conn.our_version_line,
            self.peer_kexinit,
            self.our_kexinit,
            blob,
            outcome.hash_body,
            outcome.shared_secret,
        )
        self.host_key = blob
        self.host_key_algorithm = neg.host_key
        self.conn.send_message(outcome.make_reply(blob, host_key.sign(h, neg.host_key)), kex=True)
        self.install_keys(spec.hash_name, outcome.shared_secret, h)

    def install_keys(self, hash_name: str, shared_secret: bytes, h: bytes) -> None:
        """Derive both directions' keys, send NEWKEYS, and arm the incoming switch."""
        neg = self.negotiated
        assert neg is not None
        if self.session_id is None:
            self.session_id = h
        self.exchange_hash = h
        observer = self.conn.kex_observer
        if observer is not None and self.our_kexinit is not None and self.peer_kexinit is not None:
            ours, theirs = self.our_kexinit[1:17], self.peer_kexinit[1:17]
            client_cookie, server_cookie = (ours, theirs) if self.conn.is_client else (theirs, ours)
            observer(KexSecrets(neg.kex, self.conn.is_client, client_cookie, server_cookie, shared_secret,
                                getattr(self.method, "ephemeral_private", None)))  # fmt: skip
        sid = self.session_id
        out_c2s = self.conn.is_client
        cipher_out = prot.CIPHERS[neg.cipher_c2s if out_c2s else neg.cipher_s2c]
        cipher_in = prot.CIPHERS[neg.cipher_s2c if out_c2s else neg.cipher_c2s]
        mac_out_name = neg.mac_c2s if out_c2s else neg.mac_s2c
        mac_in_name = neg.mac_s2c if out_c2s else neg.mac_c2s
        mac_out = prot.MACS[mac_out_name] if mac_out_name else None
        mac_in = prot.MACS[mac_in_name] if mac_in_name else None
        comp_out = comp.COMPRESSIONS[neg.compression_c2s if out_c2s else neg.compression_s2c]
        comp_in = comp.COMPRESSIONS[neg.compression_s2c if out_c2s else neg.compression_c2s]
        k_out = derive_direction_keys(
            hash_name, shared_secret, h, sid, out_c2s, cipher_out.iv_size, cipher_out.key_size,
            mac_out.key_size if mac_out else 0,
        )  # fmt: skip
        k_in = derive_direction_keys(
            hash_name, shared_secret, h, sid, not out_c2s, cipher_in.iv_size, cipher_in.key_size,
            mac_in.key_size if mac_in else 0,
        )  # fmt: skip
        self.last_outgoing = (cipher_out, mac_out, k_out)
        self.last_incoming = (cipher_in, mac_in, k_in)
        sealer = prot.make_sealer(cipher_out, mac_out, k_out.key, k_out.iv, k_out.mac_key)
        opener = prot.make_opener(cipher_in, mac_in, k_in.key, k_in.iv, k_in.mac_key)
        self.conn.send_message(m.NewKeys(), kex=True)
        self.sent_newkeys = True
        self.conn.install_outgoing(sealer, comp_out, reset_seq=self.strict)

        def install_in() -> None:
            self.conn.install_incoming(opener, comp_in, reset_seq=self.strict)

        self._incoming = PendingKeys(install_in)
        if self.received_newkeys:
            self._complete()

    def on_newkeys(self) -> None:
        if self._incoming is None:
            raise RemoteProtocolError("NEWKEYS before the key exchange produced keys")
        self._incoming.install()
        self.received_newkeys = True
        if self.sent_newkeys:
            self._complete()

    def _complete(self) -> None:
        neg = self.negotiated
        assert neg is not None
        first = self.count == 0
        self.count += 1
        c = self.conn.is_client
        self.conn.emit(
            ev.KexComplete(
                first=first,
                kex=neg.kex,
                host_key_algorithm=neg.host_key,
                cipher_out=neg.cipher_c2s if c else neg.cipher_s2c,
                cipher_in=neg.cipher_s2c if c else neg.cipher_c2s,
                mac_out=neg.mac_c2s if c else neg.mac_s2c,
                mac_in=neg.mac_s2c if c else neg.mac_c2s,
                compression_out=neg.compression_c2s if c else neg.compression_s2c,
                compression_in=neg.compression_s2c if c else neg.compression_c2s,
                strict=self.strict,
            )
        )
        self.our_kexinit = self.peer_kexinit = None
        self.our_kexinit_msg = None
        self.peer_kexinit_msg = None
        self.method = None
        self.context = None
        self.guessed = None
        self.sent_newkeys = self.received_newkeys = False
        self._incoming = None
        self.in_progress = False
        self.conn.kex_finished(first)

    @property
    def peer_kex_active(self) -> bool:
        """The peer sent KEXINIT and not yet NEWKEYS: only kex messages may come from it."""
        return self.peer_kexinit is not None and not self.received_newkeys
