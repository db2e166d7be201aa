"""The payload codec on its own: encryption, key rotation, unknown keys, plain pass-through."""

from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidTag
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from oms.client import data_converter
from oms.codec import DEV_KEY_ID, DEV_KEYS, ENCODING, EncryptionCodec, new_key, parse_keys
from oms.models.common import Address, Customer
from oms.settings import Settings

K1 = base64.b64decode(new_key())
K2 = base64.b64decode(new_key())
EMAIL = b"anna.lindqvist@example.com"


def _payload(data: bytes = b'{"email":"' + EMAIL + b'"}') -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


async def test_round_trip_restores_metadata_and_data_and_hides_them() -> None:
    codec = EncryptionCodec({"k1": K1}, "k1")
    original = _payload()
    [encrypted] = await codec.encode([original])
    assert encrypted.metadata["encoding"] == ENCODING
    assert encrypted.metadata["encryption-key-id"] == b"k1"
    assert EMAIL not in encrypted.SerializeToString()
    assert b"json/plain" not in encrypted.data
    [decrypted] = await codec.decode([encrypted])
    assert decrypted == original


async def test_same_payload_encrypts_differently_each_time() -> None:
    codec = EncryptionCodec({"k1": K1}, "k1")
    first, second = await codec.encode([_payload(), _payload()])
    assert first.data != second.data  # a fresh nonce per payload


async def test_rotation_new_key_encrypts_old_payloads_still_decrypt() -> None:
    [old] = await EncryptionCodec({"k1": K1}, "k1").encode([_payload()])
    rotated = EncryptionCodec({"k1": K1, "k2": K2}, "k2")
    [new] = await rotated.encode([_payload()])
    assert new.metadata["encryption-key-id"] == b"k2"
    assert await rotated.decode([old, new]) == [_payload(), _payload()]


async def test_unknown_key_id_is_a_value_error_naming_it() -> None:
    [encrypted] = await EncryptionCodec({"k1": K1}, "k1").encode([_payload()])
    with pytest.raises(ValueError, match=r"'k1'.*not loaded"):
        await EncryptionCodec({"k2": K2}, "k2").decode([encrypted])


async def test_wrong_key_under_the_same_id_or_tampering_fails_authentication() -> None:
    [encrypted] = await EncryptionCodec({"k1": K1}, "k1").encode([_payload()])
    with pytest.raises(InvalidTag):
        await EncryptionCodec({"k1": K2}, "k1").decode([encrypted])
    # The key id is authenticated: relabelling a payload with another loaded key id fails.
    relabelled = Payload()
    relabelled.CopyFrom(encrypted)
    relabelled.metadata["encryption-key-id"] = b"k2"
    with pytest.raises(InvalidTag):
        await EncryptionCodec({"k1": K1, "k2": K1}, "k1").decode([relabelled])


async def test_unencrypted_payloads_pass_through_decode_unchanged() -> None:
    plain = _payload()
    assert await EncryptionCodec({"k1": K1}, "k1").decode([plain]) == [plain]


def test_current_key_must_be_loaded() -> None:
    with pytest.raises(ValueError, match="'k9'"):
        EncryptionCodec({"k1": K1}, "k9")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "no codec keys"),
        ("k1", "id:base64key"),
        ("k1:", "id:base64key"),
        ("k1:not base64!", "'k1' is not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "'k1' is 5 bytes"),
        (f"k1:{new_key()},k1:{new_key()}", "'k1' is listed twice"),
    ],
    # Fixed ids: the generated keys differ per process, and every xdist worker must
    # collect the same tests.
    ids=["empty", "no-colon", "no-key", "not-base64", "short", "listed-twice"],
)
def test_malformed_key_specs_are_refused(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_keys(spec)


def test_key_spec_with_several_keys_and_spaces() -> None:
    k1, k2 = new_key(), new_key()
    keys = parse_keys(f" k1:{k1} , k2:{k2} ")
    assert keys == {"k1": base64.b64decode(k1), "k2": base64.b64decode(k2)}


def test_default_settings_use_the_dev_key() -> None:
    settings = Settings(_env_file=None)
    assert settings.codec_key_id == DEV_KEY_ID
    assert settings.codec_keys == DEV_KEYS


async def test_data_converter_encrypts_models_and_refuses_plain_ones() -> None:
    """The converter every client and worker uses: a model goes out encrypted and comes back
    equal; with real keys a plain payload (a start sent around the codec by whoever reaches
    Temporal) is refused, and read only while OMS_CODEC_REQUIRE_ENCRYPTED is false."""
    key = f"k1:{new_key()}"
    settings = Settings(_env_file=None, codec_keys=key, codec_key_id="k1")
    converter = data_converter(settings)
    address = Address(
        name="Anna Lindqvist",
        line1="Drottninggatan 53",
        postal_code="111 21",
        city="Stockholm",
        country="SE",
    )
    [encoded] = await converter.encode([address])
    assert b"Drottninggatan" not in encoded.SerializeToString()
    assert await converter.decode([encoded], [Address]) == [address]
    [plain] = await pydantic_data_converter.encode([address])
    with pytest.raises(ValueError, match="not encrypted"):
        await converter.decode([plain], [Address])
    migrating = Settings(
        _env_file=None, codec_keys=key, codec_key_id="k1", codec_require_encrypted=False
    )
    assert await data_converter(migrating).decode([plain], [Address]) == [address]
    # The public dev key protects nothing, so it does not insist (make run, the tests).
    assert await data_converter(Settings(_env_file=None)).decode([plain], [Address]) == [address]


def test_customer_id_which_is_indexed_unencrypted_cannot_be_an_email() -> None:
    with pytest.raises(ValidationError, match="not an email address"):
        Customer(id="anna@example.com", name="Anna", email="anna@example.com")
    assert Customer(id="gid://shop/Customer/42", name="Anna", email="anna@example.com").id
