"""A small server speaking Twilio's Messages API on 127.0.0.1, recording what it receives.

`POST /2010-04-01/Accounts/{sid}/Messages.json` (form `To`, `From`, `Body`, HTTP basic auth
`sid:token`) answers 201 with a message resource, as Twilio does; wrong credentials get 401.
Control endpoints:

- `GET /_peer/messages`: every message request: path, whether the credentials matched, To, From, Body.
- `POST /_peer/answer` `{"to": "+15550001111", "status": 500}`: answer every message to that number
  with this status from now on (201 to go back to normal, 0 to never answer); other numbers are not
  affected.
"""

import argparse
import asyncio
import base64
import uuid
from datetime import UTC, datetime

from aiohttp import web

messages: list[dict] = []
answers: dict[str, int] = {}  # phone number -> status, where it is not 201
HANG = 0  # the status that means: never answer


async def create_message(request: web.Request) -> web.Response:
    sid, token = request.app["credentials"]
    expected = "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()
    form = await request.post()
    seen = {
        "path": request.path,
        "authorized": request.headers.get("Authorization") == expected,
        "To": form.get("To"),
        "From": form.get("From"),
        "Body": form.get("Body"),
    }
    messages.append(seen)
    if not seen["authorized"]:
        return _error(401, 20003, "Authenticate")
    status = answers.get(str(seen["To"]), 201)
    if status == HANG:
        await asyncio.sleep(3600)
    if status != 201:
        return _error(status, 20500 if status >= 500 else 21211, f"injected answer {status} for {seen['To']}")
    message_sid = "SM" + uuid.uuid4().hex
    now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    resource = {
        "sid": message_sid,
        "account_sid": request.match_info["sid"],
        "to": seen["To"],
        "from": seen["From"],
        "body": seen["Body"],
        "status": "queued",
        "num_segments": "1",
        "direction": "outbound-api",
        "date_created": now,
        "date_updated": now,
        "uri": f"/2010-04-01/Accounts/{request.match_info['sid']}/Messages/{message_sid}.json",
    }
    return web.json_response(resource, status=201)


def _error(status: int, code: int, message: str) -> web.Response:
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    body = {"code": code, "message": message, "more_info": more_info, "status": status}
    return web.json_response(body, status=status)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def recorded(request: web.Request) -> web.Response:
    return web.json_response(messages)


async def answer(request: web.Request) -> web.Response:
    asked = await request.json()
    answers[asked["to"]] = int(asked["status"])
    return web.json_response(answers)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--account-sid", required=True)
    parser.add_argument("--auth-token", required=True)
    args = parser.parse_args()
    app = web.Application()
    app["credentials"] = (args.account_sid, args.auth_token)
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", create_message)
    app.router.add_get("/_peer/health", health)
    app.router.add_get("/_peer/messages", recorded)
    app.router.add_post("/_peer/answer", answer)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None, shutdown_timeout=0.5)


if __name__ == "__main__":
    main()
