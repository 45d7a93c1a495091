"""Temporal's remote codec protocol: the UI and CLI send sealed payloads here and get them back readable.

`POST /codec/decode` and `POST /codec/encode` take and give `{"payloads": [{"metadata": {...}, "data": ...}]}`,
bytes in base64, as Temporal's JSON form of Payloads. Staff only: a staff token (the UI passes the signed-in
user's), or, where PIZZERIA_CODEC_LOOPBACK_WITHOUT_TOKEN is set (make run), no token from loopback.
"""

import base64
from ipaddress import ip_address
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from api.auth import KITCHEN, accepted, bearer, unauthorized
from api.json_body import StrictJSONRoute
from api.problems import Problem, ProblemError, Responses
from settings import Settings
from workflows.payload_codec import PayloadKeyError, decode_base64

PREFIX = "/codec"
router = APIRouter(prefix=PREFIX, tags=["operations"], route_class=StrictJSONRoute)


class WirePayload(BaseModel):
    metadata: dict[str, str] = Field(default_factory=dict, description="Each value in base64")
    data: str = Field(default="", description="Base64")


class WirePayloads(BaseModel):
    # Protobuf's JSON leaves an empty list out: the CLI sends `{}` for no payloads.
    payloads: list[WirePayload] = Field(default_factory=list, max_length=10_000)


def _bytes(text: str, where: str) -> bytes:
    try:
        return decode_base64(text)
    except ValueError:  # binascii.Error, or characters outside ASCII
        raise ProblemError(422, f"{where}: not base64", "invalid-payload") from None


def _from_wire(body: WirePayloads) -> list[Payload]:
    return [
        Payload(
            metadata={key: _bytes(value, f"payloads[{n}].metadata.{key}") for key, value in wire.metadata.items()},
            data=_bytes(wire.data, f"payloads[{n}].data"),
        )
        for n, wire in enumerate(body.payloads)
    ]


def _text(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _to_wire(payloads: list[Payload]) -> WirePayloads:
    return WirePayloads(
        payloads=[
            WirePayload(metadata={key: _text(value) for key, value in p.metadata.items()}, data=_text(p.data))
            for p in payloads
        ]
    )


async def _codec_caller(request: Request, token: Annotated[str | None, Depends(bearer)]) -> None:
    """Staff with a valid token (of an account that still exists, when sign-in issued it); without one, only
    loopback callers where the settings allow it."""
    settings: Settings = request.app.state.settings
    if not token:
        if "authorization" in request.headers:
            raise unauthorized("the Authorization header must be Bearer <staff JWT>")
        host = request.client.host if request.client else ""
        if settings.codec_loopback_without_token and _is_loopback(host):
            return
        raise unauthorized("a staff token is required (Authorization: Bearer <JWT>)")
    staff = accepted(request, token)
    if not staff.may(KITCHEN):
        raise ProblemError(403, f"this needs the {KITCHEN} or manager role", "forbidden")


def _is_loopback(host: str) -> bool:
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


CodecCaller = Annotated[None, Depends(_codec_caller)]
RESPONSES: Responses = {
    401: {"model": Problem},
    403: {"model": Problem},
    422: {"model": Problem, "description": "Malformed, or sealed with a key this API does not hold"},
}


async def _apply(request: Request, body: WirePayloads, decode: bool) -> WirePayloads:
    codec: PayloadCodec | None = request.app.state.payload_codec
    payloads = _from_wire(body)
    if codec is None:  # encryption is off: payloads are already plain
        return _to_wire(payloads)
    try:
        return _to_wire(await (codec.decode(payloads) if decode else codec.encode(payloads)))
    except PayloadKeyError as err:
        raise ProblemError(422, str(err), "undecodable-payload") from None


@router.post("/decode", response_model=WirePayloads, responses=RESPONSES)
async def decode(body: WirePayloads, request: Request, _: CodecCaller) -> WirePayloads:
    """Open sealed payloads (those not sealed come back as they are)."""
    return await _apply(request, body, decode=True)


@router.post("/encode", response_model=WirePayloads, responses=RESPONSES)
async def encode(body: WirePayloads, request: Request, _: CodecCaller) -> WirePayloads:
    """Seal payloads with the newest key."""
    return await _apply(request, body, decode=False)


class CodecCORS:
    """CORS for the codec endpoint alone: the Temporal UI calls it from the browser, from its own origin."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["POST"],
            allow_headers=["Authorization", "Content-Type", "X-Namespace"],
            allow_credentials=True,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
