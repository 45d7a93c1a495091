"""Real protocol peers on loopback: a stateful fake Stripe and a server speaking Twilio's Messages API.

Each runs as its own process (the end-to-end tests are synchronous and would starve an in-process
server), records what it receives, and can be told to answer with faults. Tests talk to them
through `PeerProcess` and the `/_peer/...` control endpoints.
"""

import sys
from pathlib import Path

import httpx

from tools.supervisor import Children, answers, wait_for


class PeerProcess:
    """One peer server: `python -m tests.peers.<module> --port N ...` under the shared supervisor
    (tools/supervisor.py), logging to `log`; up once it answers /_peer/health."""

    def __init__(self, module: str, port: int, log: Path, *args: str) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        self._children = Children(log.parent)
        self._children.start(log.stem, [sys.executable, "-m", f"tests.peers.{module}", "--port", str(port), *args])
        self.http = httpx.Client(base_url=self.base_url, timeout=10)

        def healthy() -> bool:
            self._children.check(log.stem)
            return answers(f"{self.base_url}/_peer/health")

        try:
            wait_for(healthy, module, seconds=20)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.http.close()
        self._children.stop()


STRIPE_KEY = "sk_test_pizzeria_peer"


class StripePeer(PeerProcess):
    """localstripe behind a recorder and a fault injector (tests/peers/stripe_peer.py)."""

    def __init__(self, port: int, log: Path) -> None:
        super().__init__("stripe_peer", port, log)

    def requests(self, order_id: str) -> list[dict]:
        """Every API request the SDK sent about this order (its metadata names the order)."""
        return [r for r in self.http.get("/_peer/requests").json() if r["form"].get("metadata[order_id]") == order_id]

    def fail(self, method: str, path: str, order_id: str, *answers: int | str | dict) -> None:
        """Answer the order's next requests to method+path with these faults, in turn."""
        fault = {"method": method, "path": path, "order_id": order_id, "answers": list(answers)}
        self.http.post("/_peer/faults", json=fault).raise_for_status()

    def intents(self, order_id: str) -> list[dict]:
        """The order's PaymentIntents as localstripe keeps them."""
        listed = self.http.get("/v1/payment_intents", params={"limit": 100}, auth=(STRIPE_KEY, ""))
        listed.raise_for_status()
        return [i for i in listed.json()["data"] if (i.get("metadata") or {}).get("order_id") == order_id]

    def refunds(self, order_id: str) -> list[dict]:
        listed = self.http.get("/v1/refunds", params={"limit": 100}, auth=(STRIPE_KEY, ""))
        listed.raise_for_status()
        return [r for r in listed.json()["data"] if (r.get("metadata") or {}).get("order_id") == order_id]


TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "peer-auth-token"
TWILIO_FROM = "+15550009999"


class TwilioPeer(PeerProcess):
    """A server speaking Twilio's Messages API (tests/peers/twilio_peer.py)."""

    def __init__(self, port: int, log: Path) -> None:
        super().__init__("twilio_peer", port, log, "--account-sid", TWILIO_SID, "--auth-token", TWILIO_TOKEN)

    def messages(self, to: str) -> list[dict]:
        return [m for m in self.http.get("/_peer/messages").json() if m["To"] == to]

    def answer(self, to: str, status: int) -> None:
        """Answer every message to this number with this status (201 is normal, 0 never answers)."""
        self.http.post("/_peer/answer", json={"to": to, "status": status}).raise_for_status()
