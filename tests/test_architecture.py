"""Dependencies point down and inward (DESIGN.md): checked on the source, import by import."""

import ast
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FRAMEWORKS = frozenset(
    {
        "temporalio",
        "fastapi",
        "starlette",
        "sqlmodel",
        "sqlalchemy",
        "pydantic",
        "pydantic_settings",
        "stripe",
        "twilio",
        "httpx",
        "requests",
        "jwt",
    }
)
OUTER = frozenset({"api", "activities", "workflows", "worker", "settings", "observability", "bootstrap"})
SIDE_EFFECT_ADAPTERS = frozenset({"fake_payments", "console_notifier"})


@dataclass(frozen=True)
class Import:
    """One imported name, made absolute: `from activities import contracts` is `activities.contracts`."""

    module: str
    line: int

    @property
    def top(self) -> str:
        return self.module.split(".")[0]

    @property
    def part(self) -> str:
        """The second component (`activities.fake_payments` -> `fake_payments`), or ''."""
        parts = self.module.split(".")
        return parts[1] if len(parts) > 1 else ""


def package_of(relative: str) -> str:
    """The package a file's relative imports start from: `domain/order.py` -> `domain`."""
    return ".".join(Path(relative).parts[:-1])


def _absolute(module: str | None, level: int, package: str) -> str:
    if level == 0:
        return module or ""
    base = package.split(".") if package else []
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, module] if module else base)


def imports_in(source: str, package: str) -> Iterator[Import]:
    """Every import of a module, wherever it sits (functions, TYPE_CHECKING blocks, import_module calls)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            for alias in node.names:
                name = base if alias.name == "*" else f"{base}.{alias.name}" if base else alias.name
                yield Import(name, node.lineno)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            first = node.args[0]
            if called in {"__import__", "import_module"} and isinstance(first, ast.Constant):
                yield Import(str(first.value), node.lineno)


def domain_breaches(source: str, package: str = "domain") -> list[tuple[int, str]]:
    """Imports a domain module may not make: anything but the standard library and `domain`."""
    found = []
    for imp in imports_in(source, package):
        if imp.top == "domain" or (imp.top in sys.stdlib_module_names and imp.top not in OUTER):
            continue
        why = "a framework" if imp.top in FRAMEWORKS else "an outer folder" if imp.top in OUTER else "not stdlib"
        found.append((imp.line, f"imports {imp.module} ({why})"))
    return found


def workflow_breaches(source: str, package: str = "workflows") -> list[tuple[int, str]]:
    """Imports of activities/ other than its contracts."""
    return [
        (imp.line, f"imports {imp.module} (workflows may use only activities.contracts)")
        for imp in imports_in(source, package)
        if imp.top == "activities" and imp.part != "contracts"
    ]


def _port_names() -> frozenset[str]:
    tree = ast.parse((ROOT / "activities" / "ports.py").read_text())
    return frozenset(node.name for node in tree.body if isinstance(node, ast.ClassDef))


def port_adapters() -> frozenset[str]:
    """Modules of activities/ that implement a port (a class deriving from one declared in activities/ports.py)."""
    ports = _port_names()
    adapters = set()
    for path in (ROOT / "activities").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                if bases & ports:
                    adapters.add(path.stem)
    return frozenset(adapters)


def api_breaches(source: str, package: str = "api", adapters: frozenset[str] = frozenset()) -> list[tuple[int, str]]:
    """Imports of the worker, of an activity module or of an adapter with side effects."""
    found = []
    for imp in imports_in(source, package):
        if imp.top == "worker":
            found.append((imp.line, "imports worker"))
        elif imp.top == "activities" and (
            imp.part in SIDE_EFFECT_ADAPTERS | adapters or imp.part.endswith("_activities")
        ):
            found.append((imp.line, f"imports {imp.module} (the API may read the stores, never run side effects)"))
    return found


def python_files(folder: str, root: Path = ROOT) -> list[Path]:
    return sorted((root / folder).rglob("*.py")) if (root / folder).is_dir() else []


def offences(folder: str, rule: Callable[[str, str], list[tuple[int, str]]], root: Path = ROOT) -> list[str]:
    """`folder/file.py:line what` for every breach of the rule in the folder."""
    lines = []
    for path in python_files(folder, root):
        relative = path.relative_to(root).as_posix()
        for line, what in rule(path.read_text(), package_of(relative)):
            lines.append(f"{relative}:{line} {what}")
    return lines


# --- the rules, on the project's own source ----------------------------------------------


def test_the_domain_imports_only_the_standard_library_and_itself() -> None:
    files = {p.name for p in python_files("domain")}
    assert {"menu.py", "order.py", "pricing.py"} <= files  # the walk really reads the domain

    found = offences("domain", domain_breaches)

    assert not found, "domain/ must stay pure:\n" + "\n".join(found)


def test_workflows_reach_activities_only_through_their_contracts() -> None:
    assert python_files("workflows"), "no workflows/ to check"

    found = offences("workflows", workflow_breaches)

    assert not found, "workflows/ may import only activities.contracts of activities/:\n" + "\n".join(found)


def test_the_api_never_imports_an_adapter_an_activity_module_or_the_worker() -> None:
    adapters = port_adapters()

    found = offences("api", lambda source, package: api_breaches(source, package, adapters))

    assert not found, "api/ reaches past the read side of activities/:\n" + "\n".join(found)


def test_the_adapters_of_the_ports_are_recognised() -> None:
    assert {"fake_payments", "console_notifier"} <= port_adapters()
    assert "order_store" not in port_adapters()


# --- the rules catch what they are meant to catch ----------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import fastapi",
        "from sqlmodel import Field",
        "from sqlalchemy.orm import Session",
        "import pydantic_settings",
        "from temporalio import workflow",
        "import jwt",
        "from activities.database import OrderRow",
        "import settings",
        "from workflows import order_workflow",
        "import worker",
        "from api import app",
        "from .. import api",
        "def f():\n    import httpx\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from stripe import Charge\n",
        "import importlib\nimportlib.import_module('twilio')",
        "import yaml",
    ],
)
def test_the_domain_rule_catches_a_forbidden_import(source: str) -> None:
    assert domain_breaches(source), source


@pytest.mark.parametrize(
    "source",
    [
        "from decimal import Decimal",
        "import datetime, enum",
        "from collections.abc import Iterable",
        "from __future__ import annotations",
        "from domain.menu import Menu",
        "from . import money",
        "from .errors import InvalidOrder",
    ],
)
def test_the_domain_rule_lets_the_standard_library_and_the_domain_through(source: str) -> None:
    assert domain_breaches(source) == []


def test_a_breach_is_reported_as_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "domain" / "sub").mkdir(parents=True)
    (tmp_path / "domain" / "good.py").write_text("from decimal import Decimal\n")
    (tmp_path / "domain" / "sub" / "bad.py").write_text(
        '"""A pricing module gone wrong."""\n\nfrom decimal import Decimal\nfrom pydantic import BaseModel\n'
        "from ...activities import database\n"
    )

    found = offences("domain", domain_breaches, root=tmp_path)

    assert found == [
        "domain/sub/bad.py:4 imports pydantic.BaseModel (a framework)",
        "domain/sub/bad.py:5 imports activities.database (an outer folder)",
    ]


@pytest.mark.parametrize(
    ("source", "breaks"),
    [
        ("from activities import contracts as act", False),
        ("from activities.contracts import CHARGE_PAYMENT", False),
        ("import activities.contracts", False),
        ("from domain.order import Order", False),
        ("from activities import fake_payments", True),
        ("from activities.order_store import OrderStore", True),
        ("from activities import contracts, payment_activities", True),
        ("import activities.database", True),
        ("from activities import *", True),
        ("from ..activities import ports", True),
    ],
)
def test_the_workflow_rule_allows_only_the_activity_contracts(source: str, breaks: bool) -> None:
    assert bool(workflow_breaches(source)) is breaks


@pytest.mark.parametrize(
    ("source", "breaks"),
    [
        ("from activities.order_store import OrderStore", False),
        ("from activities.menu_store import MenuStore", False),
        ("from activities.database import make_engine", False),
        ("from activities import contracts", False),
        ("from activities.fake_payments import FakePayments", True),
        ("from activities import console_notifier", True),
        ("from activities.payment_activities import PaymentActivities", True),
        ("import activities.store_activities", True),
        ("from activities.twilio_notifier import TwilioNotifier", True),
        ("import worker", True),
        ("from worker import build_worker", True),
    ],
)
def test_the_api_rule_refuses_adapters_activities_and_the_worker(source: str, breaks: bool) -> None:
    assert bool(api_breaches(source, adapters=frozenset({"twilio_notifier"}))) is breaks
