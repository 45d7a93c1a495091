"""The one process supervisor: child processes by name, each with its log, and waiting for them.

The benchmark (tools/bench.py), the load test (tests/load/reconcile.py) and the end-to-end tests
(tests/e2e/conftest.py) all start their processes through `Children` (what they start, a Temporal dev
server, workers and the API, is in tools/stack.py): in the repository's folder, each writing to
`<logs>/<name>.log`, and stopped newest first. Waiting for one is polling a probe until it says yes;
a process that exits meanwhile ends the wait at once, with the end of its log.

`run_then_leave` is the way out of a tool that talked to Temporal (the SDK's exit crash, sdk-python#300).
"""

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 60.0
STOP_SECONDS = 15.0
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def say(text: str) -> None:
    """A tool's progress and complaints: on stderr, so that stdout keeps only its result."""
    print(text, file=sys.stderr, flush=True)


class ChildExited(RuntimeError):
    """A child process ended while something waited for it: waiting longer would not help."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGTERM if its parent dies without stopping it (e.g. SIGKILL)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Children:
    """Child processes by name, each in a session of its own (a Ctrl-C at the terminal reaches only the
    parent, which stops them) and, on Linux, sent SIGTERM should the parent die without stopping them."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[tuple[str, subprocess.Popen]] = []

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        # The parent-death signal follows the thread that forked: asked for only from the main thread.
        orphan_rule = sys.platform == "linux" and threading.current_thread() is threading.main_thread()
        with open(self.log(name), "ab") as log:
            process = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if orphan_rule else None,
            )
        self.running.append((name, process))
        return process

    def latest(self, name: str) -> subprocess.Popen | None:
        return next((process for known, process in reversed(self.running) if known == name), None)

    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.running}

    def check(self, name: str) -> None:
        """Raise ChildExited, with the end of its log, if the latest process of that name has exited."""
        process = self.latest(name)
        if process is not None and process.poll() is not None:
            raise ChildExited(
                f"{name} exited with {process.returncode}; the end of {self.log(name)}:\n{self.tail(name)}"
            )

    def tail(self, name: str, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log(name).read_text(errors="replace").splitlines()[-lines:])
        return ""

    def kill(self, name: str) -> None:
        """SIGKILL to the latest process of that name: no goodbye, no cleanup."""
        process = self.latest(name)
        assert process is not None, f"no {name} was started"
        process.kill()
        process.wait(10)

    def stop(self, *names: str) -> None:
        """SIGTERM (SIGKILL if still there after 15 s) to the processes of these names, or to all; newest first."""
        for entry in reversed(list(self.running)):
            if names and entry[0] not in names:
                continue
            self.running.remove(entry)
            process = entry[1]
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(5)


# --- waiting --------------------------------------------------------------------------------------------


def _polls(what: str, seconds: float) -> Iterator[float]:
    """The pauses between probes until the deadline, then TimeoutError."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        yield 0.1
    raise TimeoutError(f"timed out after {seconds:.0f} s waiting for {what}")


def _says_yes(probe: Callable[[], bool]) -> bool:
    try:
        return bool(probe())
    except (OSError, subprocess.SubprocessError):  # not up yet; ChildExited and anything else end the wait
        return False


def wait_for(probe: Callable[[], bool], what: str, seconds: float = STARTUP_SECONDS) -> None:
    for pause in _polls(what, seconds):
        if _says_yes(probe):
            return
        time.sleep(pause)


async def wait_until(probe: Callable[[], bool], what: str, seconds: float = STARTUP_SECONDS) -> None:
    """As wait_for, with the event loop free between probes (a SIGTERM handler can still cancel the wait)."""
    for pause in _polls(what, seconds):
        if _says_yes(probe):
            return
        await asyncio.sleep(pause)


_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through an HTTP proxy


def answers(url: str, timeout: float = 3.0) -> bool:
    """Whether a GET of url answers 200."""
    with _LOOPBACK.open(url, timeout=timeout) as response:
        return response.status == 200


async def supervised(prefix: str, keep: bool, harness: str, work: Callable[[Children], Awaitable[T]]) -> T | None:
    """`work(children)` with its children's files in a new temporary folder, then every child stopped (also
    on a SIGTERM, which cancels the work) and the folder removed unless kept. None when the harness failed:
    the error is said, with the end of every child's log."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    children = Children(Path(tempfile.mkdtemp(prefix=prefix)))
    try:
        return await work(children)
    except Exception:
        tails = "".join(f"\n--- last lines of {name}.log ---\n{children.tail(name)}" for name, _ in children.running)
        say(f"{harness} failed:\n{traceback.format_exc()}{tails}")
        return None
    finally:
        children.stop()
        if keep:
            say(f"kept {children.logs}")
        else:
            shutil.rmtree(children.logs, ignore_errors=True)


def publish(text: str, result: dict, out: Path | None) -> None:
    """A tool's result: the text on stdout, and the figures as JSON in `out` when given."""
    print(text, flush=True)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        say(f"wrote {out}")


def run_then_leave(run: Coroutine[Any, Any, int], interrupted: Callable[[], None] = lambda: None) -> None:
    """Run a tool's main coroutine, then leave the process with its exit code (130 when interrupted)."""
    try:
        code = asyncio.run(run)
    except (KeyboardInterrupt, asyncio.CancelledError):
        interrupted()
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    # Leave at once: a process that exits right after its last Temporal call can abort in the SDK's
    # teardown (temporalio/sdk-python#300); every child process is already stopped.
    os._exit(code)
