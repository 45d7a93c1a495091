"""Tables of the pizzeria's database and its engine. Alembic makes and changes the tables (migrations/)."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Column, DateTime, Engine, Numeric, event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlmodel import Field, SQLModel, create_engine


def _money() -> Column[Decimal]:
    return Column(Numeric(10, 2), nullable=False)


def _moment(nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


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


class KitchenTicketRow(SQLModel, table=True):
    __tablename__ = "kitchen_queue"
    order_id: str = Field(primary_key=True)
    queued_at: datetime = Field(sa_column=_moment())


def utc(moment: datetime) -> datetime:
    """A moment in UTC. SQLite keeps neither offsets nor their meaning, so everything stored is UTC."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def make_engine(url: str) -> Engine:
    """An engine for any SQLAlchemy URL; SQLite gets WAL so the API and workers share it."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _tune(dbapi_connection: DBAPIConnection, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine
