"""`make run` as a newcomer uses it: the API and the Temporal UI come up, and Ctrl-C stops everything."""

import os
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import free_port
from workflows.payload_codec import parse_keys

ROOT = Path(__file__).resolve().parents[2]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_make_run_serves_the_api_and_the_temporal_ui_and_ctrl_c_stops_all_three(tmp_path: Path) -> None:
    names = ("API", "TEMPORAL", "TEMPORAL_UI", "TEMPORAL_HTTP", "TEMPORAL_METRICS", "WORKER_METRICS")
    ports = {name: free_port() for name in names}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIZZERIA_")}
    env.update({f"PIZZERIA_{name}_PORT": str(port) for name, port in ports.items()})
    env["PIZZERIA_DATABASE_URL"] = f"sqlite:///{tmp_path}/pizzeria.db"
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

        os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        make.wait(30)
        time.sleep(0.5)
        assert not any(_listening(port) for port in (ports["API"], ports["TEMPORAL"], ports["TEMPORAL_UI"]))
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
        output.close()
