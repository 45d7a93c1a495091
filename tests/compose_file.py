"""docker-compose.yml and .env.example read as `docker compose` reads them: `${VAR}` interpolated from an .env.

Only what the project's compose file needs of the Compose specification's interpolation: `$$`, `$VAR`, `${VAR}`,
`${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `${VAR:+other}` and `${VAR+other}`.
"""

import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"

PLACEHOLDER = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<invalid>))"
)
COMMAND = re.compile(r"^#\s{3,}(?P<command>\S.*)$")  # an indented command in a comment: how to make the value


class InterpolationError(ValueError):
    """A required variable is missing, or a `$` starts no placeholder (docker compose refuses both)."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """`text` with every placeholder replaced from `env`, as docker compose does."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["invalid"] is not None:
            raise InterpolationError(f"invalid interpolation at {text[match.start() :][:20]!r}")
        name = match["named"] or match["braced"]
        op, arg, value = match["op"], match["arg"] or "", env.get(name)
        is_set = value is not None and (value != "" or not (op or "").startswith(":"))
        if op in (":-", "-"):
            return value if is_set and value is not None else arg
        if op in (":?", "?"):
            if not is_set or value is None:
                raise InterpolationError(f"{name}: {arg or 'required'}")
            return value
        if op in (":+", "+"):
            return arg if is_set else ""
        return value or ""

    return PLACEHOLDER.sub(replace, text)


def variables(text: str) -> set[str]:
    """The names of the variables `text` interpolates."""
    return {match["named"] or match["braced"] for match in PLACEHOLDER.finditer(text) if not match["escaped"]} - {None}


def raw_compose() -> dict[str, Any]:
    """docker-compose.yml as written, placeholders and all."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


def resolved(node: Any, env: Mapping[str, str]) -> Any:
    """Every string of `node` interpolated from `env`."""
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {key: resolved(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [resolved(value, env) for value in node]
    return node


def compose(env: Mapping[str, str]) -> dict[str, Any]:
    """docker-compose.yml as docker compose runs it with `env` for its .env file."""
    return resolved(raw_compose(), env)


def env_example() -> dict[str, str]:
    """.env.example's variables and values, in order."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip().strip("'\"")
    return values


def env_example_commands() -> dict[str, str]:
    """For each variable of .env.example, the command its comment gives to make a value, if any."""
    commands: dict[str, str] = {}
    pending: str | None = None
    for line in ENV_EXAMPLE.read_text().splitlines():
        if match := COMMAND.match(line):
            pending = match["command"]
        elif line.strip() and not line.lstrip().startswith("#"):
            if pending:
                commands[line.partition("=")[0].strip()] = pending
            pending = None
        elif not line.strip():
            pending = None
    return commands


def filled_env(python_bin: Path) -> dict[str, str]:
    """.env.example filled in as its comments say: each empty value made by running the command given for it."""
    values = env_example()
    for name, command in env_example_commands().items():
        if not values.get(name):
            made = subprocess.run(
                command, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=60,
                env={"PATH": f"{python_bin}:/usr/bin:/bin"},
            )  # fmt: skip
            assert made.returncode == 0 and made.stdout.strip(), f".env.example: {name}: `{command}`: {made.stderr}"
            values[name] = made.stdout.strip()
    return values


def host_command(service: Mapping[str, Any]) -> list[str]:
    """The service's entrypoint with each file it mounts from the project named by its path here."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, _, target = volume.partition(":")
        if source.startswith("./"):
            mounts[target.partition(":")[0]] = str(ROOT / source)
    return [mounts.get(part, part) for part in service["entrypoint"]]
