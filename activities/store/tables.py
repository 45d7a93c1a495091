"""Tables of the pizzeria's database and its engine. Alembic makes and changes the tables (migrations/)."""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, Engine, Float, ForeignKey, Index, Integer, Numeric, String, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlmodel import Field, SQLModel, create_engine


def _money() -> Column[Decimal]:
    return Column(Numeric(10, 2), nullable=False)


def _moment(nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


def _seconds() -> Column[float]:
    return Column(Float(), nullable=True)


class PizzaRow(SQLModel, table=True):
    __tablename__ = "menu_pizza"
    name: str = Field(primary_key=True)
    display_name: str
    price_small: Decimal = Field(sa_column=_money())
    price_medium: Decimal = Field(sa_column=_money())
    price_large: Decimal = Field(sa_column=_money())
    available: bool = True


class ToppingRow(SQLModel, table=True):
    __tablename__ = "menu_topping"
    name: str = Field(primary_key=True)
    price: Decimal = Field(sa_column=_money())
    available: bool = True


class OrderRow(SQLModel, table=True):
    """An order as last saved by its workflow: columns to query by, and the whole order as JSON."""

    __tablename__ = "orders"
    id: str = Field(primary_key=True)
    status: str = Field(index=True)
    fulfilment: str
    payment_method: str
    total: Decimal = Field(sa_column=_money())
    placed_at: datetime = Field(sa_column=_moment(index=True))  # staff list orders newest first
    finished_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True, index=True))
    snapshot: str
    # Facts the manager's numbers and a customer's history are read by (migration 0002_order_facts). Nullable:
    # a worker of the release before them still saves orders without them during a rolling upgrade.
    customer_phone: str | None = None
    confirmed_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True))
    ready_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True, index=True))
    prep_seconds: float | None = Field(default=None, sa_column=_seconds())  # confirmed -> ready
    picked_up_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True, index=True))
    delivery_seconds: float | None = Field(default=None, sa_column=_seconds())  # picked up -> delivered
    cancelled_from: str | None = None  # the status a cancelled order was in when it was cancelled

    # A customer's history, newest first, a page at a time.
    __table_args__ = (Index("ix_orders_customer_history", "customer_phone", "placed_at", "id"),)


class OrderLineRow(SQLModel, table=True):
    """An order's lines, as the pizzas it holds (sizes and toppings left to the snapshot): the top pizzas."""

    __tablename__ = "order_lines"
    order_id: str = Field(sa_column=Column(String(), ForeignKey("orders.id"), primary_key=True))
    line_no: int = Field(primary_key=True)
    pizza: str
    size: str
    quantity: int


class KitchenTicketRow(SQLModel, table=True):
    __tablename__ = "kitchen_queue"
    order_id: str = Field(primary_key=True)
    queued_at: datetime = Field(sa_column=_moment())


def _count() -> Column[int]:
    return Column(Integer, nullable=False, server_default=text("0"))


class IngredientRow(SQLModel, table=True):
    """An ingredient's stock in portions. `on_hand` NULL: not tracked (never refuses an order).

    available = on_hand - reserved; on_hand falls by what is consumed (an order reaching preparing).
    """

    __tablename__ = "ingredient"
    name: str = Field(primary_key=True)
    on_hand: int | None = None
    reserved: int = Field(default=0, sa_column=_count())
    consumed: int = Field(default=0, sa_column=_count())


class RecipeRow(SQLModel, table=True):
    """Portions of an ingredient in one pizza of a size (toppings are not here: one portion of their own each)."""

    __tablename__ = "recipe"
    pizza: str = Field(primary_key=True)
    ingredient: str = Field(primary_key=True)
    size: str = Field(primary_key=True)
    portions: int


class StockReservationRow(SQLModel, table=True):
    """What an order holds of a tracked ingredient: reserved, then consumed (preparing) or released (undone)."""

    __tablename__ = "stock_reservation"
    order_id: str = Field(primary_key=True)
    ingredient: str = Field(primary_key=True)
    portions: int
    state: str


class StaffAccountRow(SQLModel, table=True):
    """A staff member who signs in with a password. `account_key` is made anew with each account, so that a
    token issued to a deleted account never names an account made later under the same username."""

    __tablename__ = "staff_account"
    username: str = Field(sa_column=Column(String(40), primary_key=True))
    password_hash: str = Field(sa_column=Column(String(), nullable=False))  # argon2, with its salt and parameters
    roles: str = Field(sa_column=Column(String(), nullable=False))  # comma-separated, sorted
    created_at: datetime = Field(sa_column=_moment())
    account_key: str = Field(sa_column=Column(String(64), nullable=False))


class SignInFailureRow(SQLModel, table=True):
    """A failed sign-in, kept a few minutes: enough of them lock the username out for a while, whichever API
    process was asked."""

    __tablename__ = "sign_in_failure"
    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    username: str = Field(sa_column=Column(String(100), nullable=False, index=True))
    at: datetime = Field(sa_column=_moment(index=True))


def utc(moment: datetime) -> datetime:
    """A moment in UTC. SQLite keeps neither offsets nor their meaning, so everything stored is UTC."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ConnectionLimits:
    """How many connections a process keeps to the database and how long it waits for each thing."""

    pool_size: int
    max_overflow: int
    pool_timeout_seconds: float
    statement_timeout_seconds: float
    connect_timeout_seconds: int


# Connections are recycled after this long, in case something between here and the server (a proxy, a
# firewall) drops idle ones silently; pre-ping catches the rest before a connection is handed out.
RECYCLE_SECONDS = 1800


def make_engine(url: str, limits: ConnectionLimits | None = None) -> Engine:
    """An engine for any SQLAlchemy URL; SQLite gets WAL so the API and workers share it.

    Without `limits`, SQLAlchemy's own pool and no statement timeout: for tools and for migrations, whose
    statements may rightly take long.
    """
    parsed = make_url(url)
    pool: dict[str, Any] = {}
    if limits and parsed.database not in (None, "", ":memory:"):  # SQLite in memory is one connection, no pool
        pool = {
            "pool_size": limits.pool_size,
            "max_overflow": limits.max_overflow,
            "pool_timeout": limits.pool_timeout_seconds,
        }
    if parsed.get_backend_name() != "sqlite":
        connect_args: dict[str, Any] = {}
        if limits and parsed.get_backend_name() == "postgresql":
            statement_ms = max(1, round(limits.statement_timeout_seconds * 1000))
            connect_args = {
                "connect_timeout": limits.connect_timeout_seconds,
                "options": f"-c statement_timeout={statement_ms}",
            }
        return create_engine(url, connect_args=connect_args, pool_pre_ping=True, pool_recycle=RECYCLE_SECONDS, **pool)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # SQLite has no statement timeout; a writer waits up to its busy timeout for the file's lock.
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

    @event.listens_for(engine, "connect")
    def _tune(dbapi_connection: DBAPIConnection, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine
