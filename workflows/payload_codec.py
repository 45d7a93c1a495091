"""Customer data never reaches Temporal's storage in the clear: every payload is sealed with AES-GCM.

Workflow input, activity arguments and results, signals, updates, queries, memo and the UI's
summaries all pass through the codec. Keys are named; a sealed payload carries its key's name,
so any listed key opens it and keys can be rotated (newest first: the first one seals).
Search attributes and workflow ids are not payloads: they must never hold customer data.

A workflow's own payloads that do not open (a signal sealed with a key the worker lacks, or garbage
dressed up as sealed) are handed on as "unopened": a signal holding one is dropped like any other
undecodable signal, so nobody outside can wedge an order; a workflow's input still fails its task,
naming the key, until a worker holding that key picks it up.

`python -m workflows.payload_codec [key-id]` prints a new key entry.
"""

import base64
import binascii
import copy
import dataclasses
import functools
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from pydantic import TypeAdapter
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.contrib.pydantic import (
    PydanticJSONPlainPayloadConverter,
    PydanticPayloadConverter,
    pydantic_data_converter,
)
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverter,
    EncodingPayloadConverter,
    PayloadCodec,
    PayloadConverter,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)
from temporalio.exceptions import FailureError

ENCODING = b"binary/encrypted"
UNOPENED = "binary/unopened"  # a sealed payload that did not open; its data says why
KEY_ID = "encryption-key-id"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
TAG_BYTES = 16  # AES-GCM's tag, at the end of every sealed payload
KEY_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


class PayloadKeyError(ValueError):
    """A payload that cannot be opened with the configured keys."""


def decode_base64(text: str) -> bytes:
    """Standard or URL-safe base64, padded or not; binascii.Error when it is neither."""
    return base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True)


def parse_keys(text: str) -> dict[str, bytes]:
    """`id:base64-key,id:base64-key`, newest first, into named keys; ValueError naming what is wrong."""
    keys: dict[str, bytes] = {}
    for number, entry in enumerate((part.strip() for part in text.split(",")), start=1):
        key_id, sep, encoded = entry.partition(":")
        if not sep or not KEY_NAME.fullmatch(key_id):
            raise ValueError(
                f"entry {number} must be key-id:base64-key, the id made of letters, digits, '.', '_' or '-'"
            )
        if key_id in keys:
            raise ValueError(f"key id {key_id!r} is listed twice")
        try:
            key = decode_base64(encoded)
        except binascii.Error:
            raise ValueError(f"key {key_id!r} is not base64") from None
        if len(key) != KEY_BYTES:
            raise ValueError(f"key {key_id!r} must be {KEY_BYTES} bytes (AES-256), not {len(key)}")
        keys[key_id] = key
    return keys


def new_key_entry(key_id: str) -> str:
    """A fresh random key, as an entry of PIZZERIA_ENCRYPTION_KEYS."""
    return f"{key_id}:{base64.b64encode(AESGCM.generate_key(bit_length=KEY_BYTES * 8)).decode()}"


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    """Seals payloads with the newest key; opens them with whichever key they name."""

    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._newest = next(iter(keys))
        self._hands_on_unopened = False
        self._handing_on = copy.copy(self)  # the same twin for every workflow context: see SealedDataConverter
        self._handing_on._hands_on_unopened = True
        self._handing_on._handing_on = self._handing_on

    def with_context(self, context: SerializationContext) -> "EncryptionCodec":
        """For a workflow's own payloads (input, signals, updates, queries): hand on what does not open."""
        if not isinstance(context, WorkflowSerializationContext):
            return self
        return self._handing_on

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._open_or_hand_on(payload) for payload in payloads]

    def seal(self, payload: Payload) -> Payload:
        key_id = self._newest
        nonce = os.urandom(NONCE_BYTES)
        # The key's name is authenticated too: a payload relabelled with another key fails to open.
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed)

    def open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption was turned on
        # Cut to a key name's longest: anyone may send a payload, with any label.
        key_id = payload.metadata.get(KEY_ID, b"")[:64].decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            known = ", ".join(self._ciphers)
            raise PayloadKeyError(
                f"payload sealed with key {key_id!r}, which PIZZERIA_ENCRYPTION_KEYS does not list (it has: {known})"
            )
        if len(payload.data) < NONCE_BYTES + TAG_BYTES:
            raise PayloadKeyError(f"payload sealed with key {key_id!r} does not open: it is too short to be sealed")
        try:
            opened = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], key_id.encode())
        except InvalidTag:
            raise PayloadKeyError(f"payload sealed with key {key_id!r} does not open: it was altered") from None
        try:
            return Payload.FromString(opened)
        except DecodeError:
            raise PayloadKeyError(f"payload sealed with key {key_id!r} holds no payload") from None

    def _open_or_hand_on(self, payload: Payload) -> Payload:
        try:
            return self.open(payload)
        except PayloadKeyError as err:
            if not self._hands_on_unopened:
                raise
            # Read as a payload of its own encoding, which fails where it is read, with this reason.
            return Payload(metadata={"encoding": UNOPENED.encode()}, data=str(err).encode())


class _UnopenedPayloadConverter(EncodingPayloadConverter):
    """Reading an unopened payload raises why it did not open."""

    @property
    def encoding(self) -> str:
        return UNOPENED

    def to_payload(self, value: Any) -> Payload | None:
        return None  # never written: only the codec makes these

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        raise PayloadKeyError(payload.data.decode(errors="replace"))


# Pydantic's readers of each type, for every converter of the process: the worker makes a converter per workflow it
# runs, and building a type's reader afresh for each order cost 4% of the worker's CPU (py-spy).
_TYPE_ADAPTERS = functools.lru_cache(maxsize=1024)(TypeAdapter)


class SealedPayloadConverter(PydanticPayloadConverter):
    """Pydantic's JSON, and the unopened payloads of the codec."""

    def __init__(self) -> None:
        super().__init__()
        for converter in self.converters.values():
            if isinstance(converter, PydanticJSONPlainPayloadConverter):
                converter._type_adapter = _TYPE_ADAPTERS
        self._set_converters(*self.converters.values(), _UnopenedPayloadConverter())


class SealedFailureConverter(DefaultFailureConverter):
    """A payload that does not open is reported as itself, not as the SDK's 'Failed decoding arguments'."""

    def to_failure(self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure) -> None:
        if not isinstance(exception, FailureError) and isinstance(exception.__cause__, PayloadKeyError):
            exception = exception.__cause__
        super().to_failure(exception, payload_converter, failure)


@dataclasses.dataclass(frozen=True)
class SealedDataConverter(DataConverter):
    """The SDK asks the converter for a copy fit for each payload's context (a workflow's own, an activity's), once
    per call; only the codec differs between them, in two ways. The copy for a workflow's own payloads is made
    once and kept: made per call, it cost about a tenth of the API's and the worker's CPU (building converters)."""

    def with_context(self, context: SerializationContext) -> "SealedDataConverter":
        codec = self.payload_codec
        if codec is None or codec.with_context(context) is codec:  # type: ignore[attr-defined]
            return self
        twin = self.__dict__.get("_twin")
        if twin is None:
            twin = super().with_context(context)
            object.__setattr__(self, "_twin", twin)
        return twin


def data_converter(keys: dict[str, bytes] | None) -> DataConverter:
    """The pizzeria's data converter: pydantic models as JSON, sealed when keys are given."""
    if not keys:
        return pydantic_data_converter
    return SealedDataConverter(
        payload_converter_class=SealedPayloadConverter,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=SealedFailureConverter,
    )


if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else f"key-{datetime.now(UTC):%Y%m%d}"
    if not KEY_NAME.fullmatch(name):
        sys.exit(f"a key id is 1-64 letters, digits, '.', '_' or '-', not {name!r}")
    print(new_key_entry(name))
