"""`make run` as a newcomer uses it: the API and the Temporal UI come up, mario can sign in, and Ctrl-C stops
everything."""

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser import CHROMIUM_ARGS, chromium
from tests.conftest import BIN, TEST_DATABASE, free_port, order_body
from workflows.payload_codec import parse_keys

ROOT = Path(__file__).resolve().parents[2]
# `make run` keeps the shop's data in SQLite under DATA whatever the tests' database: the SQLite pass runs it.
pytestmark = pytest.mark.skipif(
    TEST_DATABASE == "postgresql", reason="make run uses its own SQLite database; the SQLite pass of the suite runs it"
)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _the_readme_walk_runs(api: str) -> None:
    """The README's walk through the shop, pasted into a shell as a newcomer would: every call answers 2xx."""
    readme = (ROOT / "README.md").read_text()
    walk = readme.split("## A walk through the shop", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    assert "API=http://127.0.0.1:8000\n" in walk
    script = "\n".join([
        "set -euo pipefail",
        # Each answer on a line of its own, and a 4xx or 5xx stops the walk.
        'curl() { command curl --fail-with-body "$@"; echo; }',
        walk.replace("API=http://127.0.0.1:8000", f"API={api}"),
        'echo "WALK $ID $OTHER_ID"',
    ])  # fmt: skip
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"the README's walk failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    answers = []
    for line in done.stdout.splitlines():
        with contextlib.suppress(ValueError):
            answers.append(json.loads(line))
    order_id, other_id = done.stdout.rsplit("WALK ", 1)[1].split()
    delivered = httpx.get(f"{api}/api/orders/{order_id}", timeout=10).json()
    assert delivered["status"] == "completed" and delivered["delivery"]["driver"] == "toad"
    assert delivered["delivery"]["delivered_at"] is not None
    cancelled = httpx.get(f"{api}/api/orders/{other_id}", timeout=10).json()
    assert cancelled["status"] == "cancelled" and cancelled["payment"]["refund_id"]
    menus = [a for a in answers if isinstance(a, list) and a and "display_name" in a[0]]
    assert [p["available"] for p in menus[0] if p["name"] == "margherita"] == [False]  # no mozzarella counted
    stock = [a for a in answers if isinstance(a, list) and a and "ingredient" in a[0]][-1]
    assert {"ingredient": "mozzarella", "tracked": True, "on_hand": 60, "reserved": 0, "available": 60} in stock
    numbers = [a for a in answers if isinstance(a, dict) and "prep_minutes" in a]
    assert numbers and numbers[0]["orders_completed"] == 1 and numbers[0]["cancelled_by_stage"]["confirmed"] == 1
    history = [a for a in answers if isinstance(a, dict) and "next_cursor" in a]
    assert [o["id"] for o in history[0]["orders"]] == [other_id, order_id]


def _staff_sign_in_as_mario(api: str, banner: str, password_file: Path) -> None:
    """The banner says how to sign in; mario's password, in a file only its owner reads, signs in for a manager's
    token."""
    assert (
        f"Staff sign-in {api}/login" in banner and f"username mario (a manager), password in {password_file}" in banner
    )
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    form = {"username": "mario", "password": password_file.read_text()}  # the file is the password, as it is
    signed_in = httpx.post(f"{api}/api/auth/token", data=form, timeout=30)
    assert signed_in.status_code == 200, signed_in.text
    staff = httpx.get(f"{api}/api/staff", headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"})
    assert staff.status_code == 200 and [account["username"] for account in staff.json()] == ["mario"]


def _the_ui_shows_an_order_decoded(ui: str, api: str) -> None:
    """A browser opens a new order in the Temporal UI: its input and summary read in clear, via the codec."""
    name = "Ursula Interface"
    placed = httpx.post(f"{api}/api/orders", json=order_body(customer_name=name), timeout=30)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{ui}/namespaces/default/workflows/order-{order['id']}")
            page.get_by_text(name).first.wait_for(timeout=30_000)  # the workflow's input, decrypted
            page.get_by_text("User Metadata").first.click()  # each part is rendered in a frame of its own
            summary = f"#{order['id'][:8]} · 2 pizzas · ${order['total']} · delivery"
            shown = {"summary": summary, "details": f"total ${order['total']}", "current-details": "confirmed since"}
            for part, text in shown.items():
                frame = page.frame_locator(f"iframe#user-metadata-{part}")
                expect(frame.locator("body")).to_contain_text(text, timeout=30_000)
        finally:
            browser.close()


def test_make_run_serves_the_api_and_the_temporal_ui_and_ctrl_c_stops_all_three(tmp_path: Path) -> None:
    names = ("API", "TEMPORAL", "TEMPORAL_UI", "TEMPORAL_HTTP", "TEMPORAL_METRICS", "WORKER_METRICS")
    ports = {name: free_port() for name in names}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIZZERIA_")}
    env.update({f"PIZZERIA_{name}_PORT": str(port) for name, port in ports.items()})
    env["PIZZERIA_DATABASE_URL"] = f"sqlite:///{tmp_path}/pizzeria.db"
    # A developer's secured Temporal in the shell does not reach the dev server of make run, which speaks no TLS.
    env.update(TEMPORAL_ADDRESS="pizzeria.a1b2c.tmprl.cloud:7233", TEMPORAL_API_KEY="a-developer-s-own-key")
    env.update(TEMPORAL_TLS_CLIENT_CERT_PATH="/no/such/client.pem", TEMPORAL_PROFILE="cloud")
    output = open(tmp_path / "make-run.log", "w+")  # noqa: SIM115 - make writes to it until it stops
    make = subprocess.Popen(
        ["make", "run", f"DATA={tmp_path}"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        api, ui = f"http://127.0.0.1:{ports['API']}", f"http://127.0.0.1:{ports['TEMPORAL_UI']}"
        deadline = time.monotonic() + 120
        while not (_answers(f"{api}/healthz") and _answers(ui)):
            assert make.poll() is None, (tmp_path / "make-run.log").read_text()
            assert time.monotonic() < deadline, "make run did not serve the API and the UI within two minutes"
            time.sleep(0.5)
        assert _answers(f"{api}/api/menu") and _answers(f"{api}/docs")
        while "Ctrl-C stops everything" not in (tmp_path / "make-run.log").read_text():
            assert time.monotonic() < deadline
            time.sleep(0.2)
        banner = (tmp_path / "make-run.log").read_text()
        assert f"{api}/docs" in banner and ui in banner and "Staff token   ey" in banner
        _staff_sign_in_as_mario(api, banner, tmp_path / "mario.password")
        assert (tmp_path / "temporal.db").exists()
        # Payloads are encrypted with a dev key of its own, and the UI decodes them through the API.
        assert f"encrypted with the dev key in {tmp_path}/encryption.keys" in banner
        assert list(parse_keys((tmp_path / "encryption.keys").read_text().strip()))
        assert stat.S_IMODE((tmp_path / "encryption.keys").stat().st_mode) == 0o600
        assert f"Codec server  {api}/codec" in banner and "callers on loopback need no token" in banner
        assert httpx.get(f"{ui}/api/v1/settings").json()["Codec"]["Endpoint"] == f"{api}/codec"
        assert httpx.post(f"{api}/codec/decode", json={"payloads": []}).status_code == 200
        # Prometheus can scrape all three.
        for metrics in (f"{api}/metrics", *(f"http://127.0.0.1:{ports[p]}/metrics" for p in names[-2:])):
            assert metrics in banner and _answers(metrics), metrics
        _the_readme_walk_runs(api)
        _the_ui_shows_an_order_decoded(ui, api)
        listed = subprocess.run(
            [BIN / "temporal", "operator", "search-attribute", "list", "--address",
             f"127.0.0.1:{ports['TEMPORAL']}", "-o", "json"],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        assert {"OrderStatus", "OrderTotal", "Fulfilment", "PaymentMethod", "DeliveryOutcome", "DispatchLate"} <= set(
            json.loads(listed.stdout)["customAttributes"]
        )

        os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        make.wait(30)
        time.sleep(0.5)
        assert not any(_listening(port) for port in (ports["API"], ports["TEMPORAL"], ports["TEMPORAL_UI"]))
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
        output.close()
