"""The first manager, as `make run` makes it: on a shop without accounts, `mario` with a random password in a file
only its owner reads; on every run the lines saying how to sign in, the password never changed."""

import os
import stat
import subprocess
import sys
from pathlib import Path

from pwdlib import PasswordHash

from activities.store.staff import StaffStore
from activities.store.tables import make_engine

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "http://127.0.0.1:8123/login"


def first_manager(database_url: str, password_file: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIZZERIA_")}
    env["PIZZERIA_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "api.staff_accounts", "first-manager"]
    command += ["--password-file", str(password_file), "--login-url", LOGIN]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_a_new_shop_gets_mario_with_a_random_password_only_its_owner_can_read(
    database_url: str, tmp_path: Path
) -> None:
    password_file = tmp_path / "data" / "mario.password"
    done = first_manager(database_url, password_file)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"  Staff sign-in {LOGIN}",
        f"                username mario (a manager), password in {password_file}",
    ]
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    password = password_file.read_text()  # exactly the password: curl can send the file as it is
    assert len(password) >= 20 and password.strip() == password
    engine = make_engine(database_url)
    try:
        mario = StaffStore(engine).account("mario")
    finally:
        engine.dispose()
    assert mario is not None and mario.roles == ("kitchen", "manager")
    assert mario.password_hash.startswith("$argon2id$") and PasswordHash.recommended().verify(
        password, mario.password_hash
    )

    again = first_manager(database_url, password_file)
    assert again.returncode == 0 and again.stdout == done.stdout
    assert password_file.read_text() == password  # never changed on a later run


def test_two_shops_get_two_passwords(database_url: str, new_database, tmp_path: Path) -> None:
    first, second = tmp_path / "one.password", tmp_path / "two.password"
    assert first_manager(database_url, first).returncode == 0
    assert first_manager(new_database(), second).returncode == 0
    assert first.read_text() != second.read_text()


def test_a_shop_with_accounts_but_no_mario_does_not_get_mario_back(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    try:
        store = StaffStore(engine)
        store.create("peach", "a-hash", ["manager"])
        done = first_manager(database_url, tmp_path / "mario.password")
        assert done.returncode == 0, done.stderr
        assert store.account("mario") is None and not (tmp_path / "mario.password").exists()
    finally:
        engine.dispose()
    assert LOGIN in done.stdout and "mario was deleted" in done.stdout


def test_a_database_behind_the_code_stops_it_with_one_line(tmp_path: Path) -> None:
    done = first_manager(f"sqlite:///{tmp_path}/empty.db", tmp_path / "mario.password")
    assert done.returncode != 0 and "run alembic upgrade head" in done.stderr.strip().splitlines()[-1]
