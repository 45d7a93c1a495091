"""The payload codec: sealed with the newest key, opened with any listed one, refused clearly otherwise."""

import os
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import WorkflowSerializationContext

from workflows.payload_codec import (
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    PayloadKeyError,
    data_converter,
    new_key_entry,
    parse_keys,
)

SECRET_TEXT = b'{"customer_name": "Ann Example", "customer_phone": "+15551234567"}'


def plain() -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=SECRET_TEXT)


def ring(*names: str) -> dict[str, bytes]:
    return parse_keys(",".join(new_key_entry(name) for name in names))


async def test_a_sealed_payload_shows_nothing_of_what_it_holds_and_opens_to_the_same_payload():
    codec = EncryptionCodec(ring("k1"))
    [sealed] = await codec.encode([plain()])
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata["encryption-key-id"] == b"k1"
    assert b"Ann" not in sealed.SerializeToString() and b"5551234567" not in sealed.SerializeToString()
    assert await codec.decode([sealed]) == [plain()]


async def test_the_same_payload_sealed_twice_looks_different_each_time():
    codec = EncryptionCodec(ring("k1"))
    first, second = await codec.encode([plain(), plain()])
    assert first.data != second.data


async def test_after_a_rotation_the_newest_key_seals_and_the_older_one_still_opens():
    keys = ring("2026-11", "2026-05")
    before = EncryptionCodec({"2026-05": keys["2026-05"]})
    after = EncryptionCodec(keys)
    [old] = await before.encode([plain()])
    [new] = await after.encode([plain()])
    assert new.metadata["encryption-key-id"] == b"2026-11"
    assert await after.decode([old, new]) == [plain(), plain()]


async def test_a_payload_sealed_with_a_key_not_listed_is_refused_naming_that_key_and_the_listed_ones():
    [sealed] = await EncryptionCodec(ring("retired")).encode([plain()])
    with pytest.raises(PayloadKeyError, match=r"key 'retired', which PIZZERIA_ENCRYPTION_KEYS does not list.*k1"):
        await EncryptionCodec(ring("k1")).decode([sealed])


async def test_a_payload_altered_after_sealing_or_relabelled_with_another_key_is_refused():
    keys = ring("k1", "k2")
    codec = EncryptionCodec(keys)
    [sealed] = await codec.encode([plain()])
    altered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    relabelled = Payload(metadata={**sealed.metadata, "encryption-key-id": b"k2"}, data=sealed.data)
    for bad in (altered, relabelled):
        with pytest.raises(PayloadKeyError, match="does not open: it was altered"):
            await codec.decode([bad])


@pytest.mark.parametrize("data", [b"", b"x", os.urandom(27)], ids=["empty", "one byte", "shorter than nonce and tag"])
async def test_a_payload_too_short_to_be_sealed_is_refused_as_not_opening(data):
    bad = Payload(metadata={"encoding": ENCODING, KEY_ID: b"k1"}, data=data)
    with pytest.raises(PayloadKeyError, match="does not open: it is too short to be sealed"):
        await EncryptionCodec(ring("k1")).decode([bad])


async def test_a_payload_sealed_with_a_listed_key_around_no_payload_is_refused():
    keys = ring("k1")
    nonce = os.urandom(12)
    sealed = AESGCM(keys["k1"]).encrypt(nonce, b"\xff\xff\xff", b"k1")
    bad = Payload(metadata={"encoding": ENCODING, KEY_ID: b"k1"}, data=nonce + sealed)
    with pytest.raises(PayloadKeyError, match="sealed with key 'k1' holds no payload"):
        await EncryptionCodec(keys).decode([bad])


async def test_for_a_workflows_own_payloads_what_does_not_open_is_refused_only_when_read_naming_the_key():
    [sealed] = await EncryptionCodec(ring("retired")).encode([plain()])
    converter = data_converter(ring("k1")).with_context(WorkflowSerializationContext("default", "order-1"))
    [unopened] = await converter.payload_codec.decode([sealed])
    assert unopened.metadata["encoding"] == b"binary/unopened"
    with pytest.raises(PayloadKeyError, match="key 'retired', which PIZZERIA_ENCRYPTION_KEYS does not list"):
        converter.payload_converter.from_payloads([unopened], [dict])
    with pytest.raises(PayloadKeyError, match="key 'retired'"):  # the codec itself (the /codec endpoint's) refuses
        await data_converter(ring("k1")).payload_codec.decode([sealed])


async def test_a_payload_written_before_encryption_was_turned_on_still_reads():
    assert await EncryptionCodec(ring("k1")).decode([plain()]) == [plain()]


async def test_the_data_converter_seals_only_when_keys_are_given():
    assert data_converter(None).payload_codec is None
    converter = data_converter(ring("k1"))
    [payload] = await converter.encode([{"customer_name": "Ann Example"}])
    assert payload.metadata["encoding"] == ENCODING
    assert await converter.decode([payload], [dict]) == [{"customer_name": "Ann Example"}]


def test_keys_are_read_newest_first_in_standard_or_url_safe_base64_with_or_without_padding():
    key = bytes(range(32))
    standard, urlsafe = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
    assert parse_keys(f"b:{standard}, a:{urlsafe}") == {"b": key, "a": key}
    assert list(parse_keys(f"b:{standard},a:{standard}")) == ["b", "a"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("just-a-key", "entry 1 must be key-id:base64-key"),
        (f"{new_key_entry('k1')},:AAAA", "entry 2 must be key-id:base64-key"),
        ("bad id:AAAA", "entry 1 must be key-id:base64-key"),
        ("k1:not base64!", "key 'k1' is not base64"),
        ("k1:AAAA", "key 'k1' must be 32 bytes (AES-256), not 3"),
        (f"{new_key_entry('k1')},{new_key_entry('k1')}", "key id 'k1' is listed twice"),
    ],
)
def test_a_malformed_key_list_is_refused_naming_what_is_wrong(text, says):
    with pytest.raises(ValueError, match=says.replace("(", r"\(").replace(")", r"\)")):
        parse_keys(text)


def test_the_module_prints_a_new_key_entry_that_the_settings_accept():
    entry = subprocess.run(
        [sys.executable, "-m", "workflows.payload_codec", "2026-11"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert list(parse_keys(entry)) == ["2026-11"]
    refused = subprocess.run([sys.executable, "-m", "workflows.payload_codec", "no spaces"], capture_output=True)
    assert refused.returncode != 0 and b"key id" in refused.stderr
