"""The production stack of docker-compose.yml and the Dockerfile holds together, checked without a Docker engine.

The file follows the Compose specification; the services start in order, each after what it needs; every image is
pinned; the shop's processes get, from .env.example filled in as its comments say, every setting the code requires
of them in production; no secret is written in the file; the image runs as a user of its own.
"""

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, inspect, make_url, text
from sqlalchemy.exc import ProgrammingError

from bootstrap import temporal_connection
from settings import load_settings
from tests.compose_file import (
    COMPOSE_FILE,
    ROOT,
    InterpolationError,
    compose,
    env_example,
    env_example_commands,
    filled_env,
    raw_compose,
    variables,
)

BIN = Path(sys.executable).parent
SECRET_NAME = re.compile(r"SECRET|KEY|PASSWORD|PWD|TOKEN")
IMAGE = re.compile(r"^(?P<name>[\w.\-/]+)(?::(?P<tag>[\w.\-]+))?(?:@sha256:(?P<digest>[0-9a-f]{64}))?$")
# A release, as its project numbers them (PostgreSQL's 16.10, Temporal's 1.32.0): never latest, never a major alone.
RELEASE = re.compile(r"^v?\d+\.\d+(\.\d+)*([-.][\w.\-]+)?$")
WAITS_ON = {"service_healthy", "service_completed_successfully"}
CONFIG_VARIABLES = ("PIZZERIA_", "TEMPORAL_", "STRIPE_", "TWILIO_", "OTEL_")
ROLE = "SELECT rolsuper, rolcreatedb, rolcreaterole, rolpassword FROM pg_authid WHERE rolname = 'pizzeria'"
OWNER = "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'pizzeria'"


@pytest.fixture(scope="module")
def stack() -> dict[str, Any]:
    """docker-compose.yml as docker compose runs it, with .env.example filled in as its comments say."""
    return compose(filled_env(BIN))


@pytest.fixture(scope="module")
def services(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return stack["services"]


def built(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The services that run the shop's own image, built from the Dockerfile."""
    return {name: service for name, service in services.items() if "build" in service}


def role(service: dict[str, Any]) -> str:
    """What a service built from the Dockerfile runs: the worker, the API or the migrations, by its command."""
    command = " ".join(service.get("command", []))
    for name, marker in (("worker", "worker.py"), ("api", "api.app:app"), ("migrate", "alembic")):
        if marker in command:
            return name
    raise AssertionError(f"a service built from the Dockerfile runs {command!r}: neither a worker, the API nor alembic")


def needs(services: dict[str, dict[str, Any]], name: str) -> set[str]:
    """Every service `name` waits for, directly or through another."""
    found: set[str] = set()
    pending = [name]
    while pending:
        for dependency in services[pending.pop()].get("depends_on", {}):
            if dependency not in found:
                found.add(dependency)
                pending.append(dependency)
    return found


def settings_of(service: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The settings a process of this service would read at start, or the one line it would stop with."""
    for name in list(os.environ):
        if name.startswith(CONFIG_VARIABLES):
            monkeypatch.delenv(name)
    for name, value in service.get("environment", {}).items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.chdir(tmp_path)  # no file of this checkout (data/) may stand in for a missing variable
    try:
        return load_settings()
    except SystemExit as stop:
        raise AssertionError(f"the service's process would stop at start: {stop.code}") from None


def test_the_compose_file_follows_the_compose_specification():
    checked = subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert checked.returncode == 0, f"docker-compose.yml breaks the Compose specification:\n{checked.stdout}"


def test_every_dependency_is_a_service_of_the_file_and_waits_on_a_condition(services):
    for name, service in services.items():
        for dependency, wait in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on {dependency}, which is no service of the file"
            condition = wait.get("condition") if isinstance(wait, dict) else None
            assert condition in WAITS_ON, f"{name} starts when {dependency} merely started: give a condition"
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency} to be healthy: no check"
            else:
                assert services[dependency].get("restart", "no") == "no", (
                    f"{name} waits for {dependency} to complete, but {dependency} restarts: it is no one-shot job"
                )
        assert name not in needs(services, name), f"{name} waits, through others, for itself"


def test_the_stack_starts_in_order(services):
    """PostgreSQL, Temporal's schema, Temporal, its namespace and search attributes, the migration, then the shop."""
    assert needs(services, "temporal") >= {"postgresql", "temporal-schema"}, "Temporal starts before its schema"
    assert needs(services, "temporal-setup") >= {"temporal"}
    assert needs(services, "migrate") >= {"postgresql"}
    for name, service in built(services).items():
        if role(service) != "migrate":
            assert {"temporal-setup", "migrate"} <= needs(services, name), (
                f"{name} may start before Temporal is set up or the database migrated"
            )
            for job in ("temporal-setup", "migrate"):
                assert service["depends_on"][job]["condition"] == "service_completed_successfully", (
                    f"{name} starts without waiting for {job} to succeed"
                )


def test_the_migration_job_brings_the_shops_database_to_the_codes_revision(services):
    jobs = [service for service in built(services).values() if role(service) == "migrate"]
    assert len(jobs) == 1, "one job runs the migrations"
    assert jobs[0]["command"] == ["alembic", "upgrade", "head"]
    urls = {name: service["environment"]["PIZZERIA_DATABASE_URL"] for name, service in built(services).items()}
    assert len(set(urls.values())) == 1, f"the migration job and the processes use different databases: {urls}"


def test_temporal_and_the_shop_find_the_databases_and_roles_the_jobs_make(services):
    database = services["postgresql"]["environment"]
    schema, server = services["temporal-schema"], services["temporal"]["environment"]
    made = set(re.findall(r"--db (\w+) create-database", " ".join(schema["entrypoint"])))
    read = {server["DBNAME"], server["VISIBILITY_DBNAME"]}
    assert read <= made, f"Temporal reads {sorted(read - made)}, which the schema job never makes"
    assert schema["environment"]["SQL_HOST"] == server["POSTGRES_SEEDS"] and server["POSTGRES_SEEDS"] in services, (
        "the schema job and Temporal's server use different database servers"
    )
    for user in (schema["environment"]["SQL_USER"], server["POSTGRES_USER"]):
        assert user == database["POSTGRES_USER"], f"Temporal connects as {user}, a role the database does not have"
    assert schema["environment"]["SQL_PASSWORD"] == server["POSTGRES_PWD"] == database["POSTGRES_PASSWORD"], (
        "Temporal's password differs between the database, the schema job and the server"
    )

    script = (ROOT / "deploy/postgres/create-pizzeria-database.sh").read_text()
    role, name = re.search(r"CREATE ROLE (\w+)", script)[1], re.search(r"CREATE DATABASE (\w+)", script)[1]
    for service_name, service in built(services).items():
        url = make_url(service["environment"]["PIZZERIA_DATABASE_URL"])
        assert (url.host, url.username, url.database) == (server["POSTGRES_SEEDS"], role, name), (
            f"{service_name} connects to {url.host}/{url.database} as {url.username}, not what the server makes"
        )
        assert url.password == database["PIZZERIA_DB_PASSWORD"], f"{service_name}'s database password is not the role's"
    for name, service in services.items():
        address = service.get("environment", {}).get("TEMPORAL_ADDRESS")
        if address:
            assert address.rpartition(":")[0] in services, f"{name} reaches Temporal at {address}, no service here"


def test_the_migration_job_makes_the_shops_tables_from_the_project_folder(services, postgres_url):
    """The job's command, run where the image runs it (the project folder) with only the environment it gets."""
    pytest.importorskip("alembic", reason="alembic is not installed: the shop's migrations need it")
    job = next(service for service in built(services).values() if role(service) == "migrate")
    server = make_url(postgres_url)
    name = f"migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(text(f"CREATE DATABASE {name}"))
    url = server.set(database=name).render_as_string(hide_password=False)
    environment = {**job["environment"], "PIZZERIA_DATABASE_URL": url}  # the test server for the file's one
    try:
        done = subprocess.run(
            [BIN / job["command"][0], *job["command"][1:]],
            cwd=ROOT, env={"PATH": f"{BIN}:/usr/bin:/bin", **environment},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, f"{' '.join(job['command'])} failed:\n{done.stdout}{done.stderr}"
        database = create_engine(url)
        try:
            assert {"orders", "alembic_version"} <= set(inspect(database).get_table_names()), "no tables were made"
        finally:
            database.dispose()
    finally:
        with admin.connect() as db:
            db.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_every_image_is_pinned_to_an_exact_version(services):
    for name, service in services.items():
        if "build" in service:
            continue
        image = IMAGE.match(service.get("image", ""))
        assert image, f"{name}: {service.get('image')!r} is no image reference"
        assert image["digest"] or (image["tag"] and RELEASE.match(image["tag"])), (
            f"{name}: image {image[0]!r} is not pinned to a release (postgres:16.10, temporalio/server:1.32.0)"
            " or a digest"
        )


def test_the_workers_scale_with_compose(services):
    workers = [name for name, service in built(services).items() if role(service) == "worker"]
    assert workers, "no service runs worker.py"
    for name in workers:
        service = services[name]
        assert "container_name" not in service, f"{name} has a container_name: `--scale {name}=4` would clash"
        assert "ports" not in service, f"{name} publishes a host port: `--scale {name}=4` would clash"
        assert "replicas" not in service.get("deploy", {}), f"{name} fixes its replicas: --scale decides them"


@pytest.mark.parametrize("process", ["worker", "api"])
def test_each_process_gets_every_setting_it_needs_in_production(process, services, monkeypatch, tmp_path):
    named = [name for name, service in built(services).items() if role(service) == process]
    assert named, f"no service runs the {process}"
    for name in named:
        service = services[name]
        settings = settings_of(service, monkeypatch, tmp_path)
        assert settings.environment == "production", f"{name} runs in development: secrets may be made up at start"
        assert settings.encryption_key_ring, f"{name} would send customers' data to Temporal unencrypted"
        database = urlsplit(settings.database_url)
        assert database.scheme.startswith("postgresql") and database.hostname in services, (
            f"{name}'s database {database.hostname} is no PostgreSQL service of the file"
        )
        temporal = temporal_connection(settings)
        host = str(temporal.get("target_host", "")).rpartition(":")[0]
        assert host in services, f"{name} reaches Temporal at {host!r}, no service of the file"
        assert not temporal.get("tls"), f"{name} would speak TLS to the stack's Temporal, which speaks none"
        setup = services["temporal-setup"]["environment"]
        assert temporal.get("namespace") == setup["TEMPORAL_NAMESPACE"], (
            f"{name} uses the namespace {temporal.get('namespace')!r}, which temporal-setup does not make"
        )
        if process == "worker":
            assert settings.worker_metrics_address, f"{name} serves no metrics"
            port = settings.worker_metrics_address.rpartition(":")[2]
            assert port in [str(exposed) for exposed in service.get("expose", [])], f"{name} does not expose {port}"
        else:
            port = service["command"][service["command"].index("--port") + 1]
            assert any(str(mapping).endswith(f":{port}") for mapping in service.get("ports", [])), (
                f"{name} listens on {port}, which no host port reaches"
            )
            assert "/healthz" in " ".join(service["healthcheck"]["test"]), f"{name}'s health is not /healthz"


def test_no_secret_is_written_in_the_compose_file():
    for name, service in raw_compose()["services"].items():
        for variable, value in (service.get("environment") or {}).items():
            if not SECRET_NAME.search(variable) or str(value).lower() in ("true", "false"):
                continue  # not a secret (a switch such as TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true)
            value = str(value)
            assert re.fullmatch(r"\$\{\w+(:?[-?][^}]*)?\}", value), (
                f"{name}: {variable} is written in docker-compose.yml; take it from .env as ${{{variable}}}"
            )
            assert not re.fullmatch(r"\$\{\w+:?-.+\}", value), f"{name}: {variable} has a default written in the file"


def test_env_example_names_every_variable_the_compose_file_reads_and_says_how_to_make_each_secret():
    text = COMPOSE_FILE.read_text()
    read, listed = variables(text), set(env_example())
    assert not read - listed, f".env.example lacks {sorted(read - listed)}, which docker-compose.yml reads"
    assert not listed - read, f".env.example lists {sorted(listed - read)}, which docker-compose.yml never reads"
    required = {match for match in re.findall(r"\$\{(\w+):?\?", text)}
    commands = env_example_commands()
    for name in required:
        assert env_example()[name] or name in commands, f".env.example: {name} is required and says not how to make it"
    assert re.search(r"^/?\.env$", (ROOT / ".gitignore").read_text(), re.MULTILINE), ".gitignore does not list .env"


def test_the_stack_refuses_to_start_until_env_is_filled_in_and_starts_once_it_is():
    with pytest.raises(InterpolationError, match=r"set \w+ in \.env"):
        compose(env_example())
    assert compose(filled_env(BIN))["services"]


def test_the_shops_database_role_owns_its_database_and_nothing_more(postgres_url):
    """What deploy/postgres/create-pizzeria-database.sh makes when the postgres image first fills its volume."""
    server = make_url(postgres_url)
    password = "it's a p@ss:word"  # quoted by psql, whatever it holds
    made = subprocess.run(
        ["sh", str(ROOT / "deploy/postgres/create-pizzeria-database.sh")],
        env={**os.environ, "POSTGRES_USER": "postgres", "PIZZERIA_DB_PASSWORD": password,
             "PGHOST": str(server.host), "PGPORT": str(server.port)},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    admin = create_engine(server)
    shop = create_engine(server.set(username="pizzeria", password=password, database="pizzeria"))
    elsewhere = create_engine(server.set(username="pizzeria", password=password))  # Temporal's database, say
    try:
        with admin.begin() as db:
            db.execute(text("CREATE TABLE temporal_history (id int)"))  # stands for Temporal's tables
            role = db.execute(text(ROLE)).one()
            owner = db.execute(text(OWNER)).scalar()
        assert role[:3] == (False, False, False), "the shop's role may do more than own its database"
        assert str(role.rolpassword).startswith("SCRAM-SHA-256$"), "the shop's role has no password"
        assert owner == "pizzeria", f"the database pizzeria belongs to {owner}"
        with shop.begin() as db:
            db.execute(text("CREATE TABLE orders (id int)"))  # what the migrations do
        alone = shop.connect().execution_options(isolation_level="AUTOCOMMIT")  # CREATE DATABASE runs on its own
        with pytest.raises(ProgrammingError, match="permission denied"), alone as db:
            db.execute(text("CREATE DATABASE another"))
        with pytest.raises(ProgrammingError, match="permission denied"), elsewhere.connect() as db:
            db.execute(text("SELECT * FROM temporal_history"))
    finally:
        shop.dispose()
        elsewhere.dispose()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
            db.execute(text("DROP TABLE IF EXISTS temporal_history"))
            db.execute(text("DROP DATABASE IF EXISTS pizzeria WITH (FORCE)"))
            db.execute(text("DROP ROLE IF EXISTS pizzeria"))
        admin.dispose()


def test_the_image_is_pinned_runs_as_its_own_user_and_leaves_out_the_local_environment():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines() if line.strip()]
    bases = [line.split()[1] for line in lines if line.upper().startswith("FROM ")]
    assert bases, "the Dockerfile has no FROM"
    for base in bases:
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", base), (
            f"the base image {base} is not a pinned python 3.11 slim release"
        )
    users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), "the image runs as root"
    assert any("pyproject.toml" in line for line in lines if line.upper().startswith("COPY")), (
        "the image does not install what pyproject.toml lists"
    )
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    for path in (".venv", "data", ".git", ".env"):
        assert path in ignored, f".dockerignore lets {path} into the image"


def test_every_file_the_stack_mounts_is_in_the_project(services):
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.partition(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), f"{name} mounts {source}, which the project lacks"
