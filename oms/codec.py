"""Encryption of every Temporal payload, so customer PII never reaches Temporal's database.

Workflow and activity inputs and results carry customer names, emails, phone numbers and
addresses. ``EncryptionCodec`` encrypts each payload with AES-256-GCM before it leaves the
process and decrypts it on the way back; the Temporal server (and its database, backups and
operators) only ever hold ciphertext. The Web UI reads orders through the codec server
(``starters/codec_server.py``), which uses the same keys.

Keys rotate: several keys are loaded, each with an id; payloads are encrypted with the
current one and its id is written into the payload's metadata, so a payload encrypted with
an older key still decrypts as long as that key stays loaded. Payloads without the encrypted
encoding are refused when real keys are configured (``OMS_CODEC_REQUIRE_ENCRYPTED``); with
it set false (histories written before encryption was switched on) they pass through
unchanged, so such workflows keep replaying.

Search attribute values are not payload-codec'd by Temporal: they must never hold PII.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping, Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID_META = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32

# Development only: lets `make run` and the tests work with no set-up. It is public (it is in
# this file), so it protects nothing; every real deployment sets OMS_CODEC_KEYS and
# OMS_CODEC_KEY_ID (docs/pii-encryption.md).
DEV_KEY_ID = "dev-1"
DEV_KEY_B64 = "b21zLWRldi1vbmx5LWtleS1ub3QtYS1zZWNyZXQhISE="
DEV_KEYS = f"{DEV_KEY_ID}:{DEV_KEY_B64}"


def parse_keys(spec: str) -> dict[str, bytes]:
    """Parse ``"id1:base64key,id2:base64key"`` into ``{key id: 32-byte key}``.

    Raises ``ValueError`` naming the offending entry by its id or position, never its key:
    empty spec, an entry without ``id:key``, a duplicate id, a key that is not base64 or not
    32 bytes (AES-256).
    """
    keys: dict[str, bytes] = {}
    entries = [raw.strip() for raw in spec.split(",") if raw.strip()]
    for position, entry in enumerate(entries, 1):
        key_id, sep, b64 = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id or not b64.strip():
            # Never the entry itself: without its "id:" it is a key, and this line is logged.
            raise ValueError(
                f"codec key entry {position} of {len(entries)} must look like id:base64key"
            )
        if key_id in keys:
            raise ValueError(f"codec key id {key_id!r} is listed twice")
        try:
            key = base64.b64decode(b64.strip(), validate=True)
        except binascii.Error as err:
            raise ValueError(f"codec key {key_id!r} is not valid base64") from err
        if len(key) != KEY_BYTES:
            raise ValueError(f"codec key {key_id!r} is {len(key)} bytes; AES-256 needs 32")
        keys[key_id] = key
    if not keys:
        raise ValueError("no codec keys configured (OMS_CODEC_KEYS is empty)")
    return keys


def new_key() -> str:
    """A fresh random 256-bit key, base64-encoded, for ``OMS_CODEC_KEYS``."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM payload codec with key ids in the metadata, for key rotation.

    ``keys`` maps key id to 32-byte key; ``current_key_id`` names the one new payloads are
    encrypted with. Raises ``ValueError`` at construction if the current key is not loaded.
    """

    def __init__(
        self, keys: Mapping[str, bytes], current_key_id: str, require_encrypted: bool = False
    ) -> None:
        if current_key_id not in keys:
            raise ValueError(
                f"current codec key id {current_key_id!r} is not among the loaded keys "
                f"{sorted(keys)}"
            )
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._current = current_key_id
        self._require_encrypted = require_encrypted

    @property
    def current_key_id(self) -> str:
        return self._current

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        """The whole payload (metadata and data) sealed under the current key."""
        nonce = os.urandom(NONCE_BYTES)
        # The key id is authenticated as associated data: it cannot be swapped unnoticed.
        sealed = self._ciphers[self._current].encrypt(
            nonce, payload.SerializeToString(), self._current.encode()
        )
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_META: self._current.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        """The original payload; one without the encrypted encoding is returned as is,
        unless the codec requires encryption.

        Raises ``ValueError`` for a plain payload when encryption is required (whoever
        reaches Temporal could otherwise start or signal a workflow with input of their
        own, an order paid by ``exchange`` for one), or naming the key id when that key
        is not loaded; ``cryptography.exceptions.InvalidTag`` when it was tampered with.
        """
        if payload.metadata.get("encoding") != ENCODING:
            if self._require_encrypted:
                raise ValueError(
                    "refused a payload that is not encrypted: every OMS process encrypts with"
                    " OMS_CODEC_KEYS (OMS_CODEC_REQUIRE_ENCRYPTED)"
                )
            # Written before encryption was switched on: readable already.
            return payload
        key_id = payload.metadata.get(KEY_ID_META, b"").decode()
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise ValueError(
                f"payload encrypted with codec key id {key_id!r}, which is not loaded "
                f"(loaded: {self.key_ids}); add it to OMS_CODEC_KEYS"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        return Payload.FromString(cipher.decrypt(nonce, sealed, key_id.encode()))


def codec_from_spec(
    keys: str, current_key_id: str, require_encrypted: bool = False
) -> EncryptionCodec:
    """Build the codec from the ``OMS_CODEC_KEYS`` / ``OMS_CODEC_KEY_ID`` settings.

    Raises ``ValueError`` for malformed keys or a current key id that is not loaded.
    """
    return EncryptionCodec(parse_keys(keys), current_key_id, require_encrypted)
