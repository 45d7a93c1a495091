"""Staff accounts from the command line.

`python -m api.staff_accounts first-manager --password-file data/mario.password` (make run): on a shop without
any staff account it makes the manager `mario` with a random password, written to that file (mode 600); then,
and on every later run, it prints how to sign in. It never changes a password, and never makes `mario` again on
a shop that has accounts (a manager may have deleted it).
"""

import argparse
import os
import secrets
from pathlib import Path

from activities.store.staff import StaffStore
from api.auth import KITCHEN, MANAGER
from api.passwords import Passwords
from bootstrap import open_database
from settings import load_settings

FIRST_MANAGER = "mario"


def write_secret(path: Path, text: str) -> None:
    """`text` in a file only its owner may read, replaced whole (never half written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.new")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        os.fchmod(file.fileno(), 0o600)  # also when a draft was left by an earlier run with another mode
        file.write(text)  # no line break: `curl --data-urlencode password@FILE` sends the file as it is
    os.replace(draft, path)


def first_manager(store: StaffStore, password_file: Path, passwords: Passwords) -> bool:
    """Make `mario` with a random password written to `password_file` when the shop has no account at all;
    whether it was made."""
    if store.accounts():
        return False
    password = secrets.token_urlsafe(18)
    account = store.create(FIRST_MANAGER, passwords.hash_now(password), [KITCHEN, MANAGER])
    if account is None:  # made meanwhile by another run
        return False
    write_secret(password_file, password)
    return True


def sign_in_lines(store: StaffStore, password_file: Path, login_url: str) -> list[str]:
    """How to sign in, as make run's banner says it."""
    if store.account(FIRST_MANAGER) is None:
        return [
            f"  Staff sign-in {login_url}",
            f"                with a staff account of this shop ({FIRST_MANAGER} was deleted by a manager)",
        ]
    where = str(password_file) if password_file.is_file() else f"{password_file}: missing, ask a manager for it"
    return [
        f"  Staff sign-in {login_url}",
        f"                username {FIRST_MANAGER} (a manager), password in {where}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="Staff accounts of the shop at PIZZERIA_DATABASE_URL.")
    commands = parser.add_subparsers(dest="command", required=True)
    first = commands.add_parser(
        "first-manager", help=f"make the manager {FIRST_MANAGER} on a shop without accounts; say how to sign in"
    )
    first.add_argument("--password-file", type=Path, default=Path("data/mario.password"))
    first.add_argument("--login-url", default="http://127.0.0.1:8000/login")
    first.add_argument("--quiet", action="store_true", help="make the account only; print nothing")
    args = parser.parse_args()
    engine = open_database(load_settings())
    try:
        store = StaffStore(engine)
        first_manager(store, args.password_file, Passwords())
        if not args.quiet:
            print("\n".join(sign_in_lines(store, args.password_file, args.login_url)))
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
