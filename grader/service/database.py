"""The data folder and its database: engine, sessions, migrations at start."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DEFAULT_DATA = "grader-data"


class DataFolder:
    """``<data>/grader.sqlite3``, ``submissions/<folder>/`` (files as uploaded),
    ``results/<submission>/<attempt>/`` (results.json, report.html)."""

    def __init__(self, root: str | os.PathLike, url: str | None = None) -> None:
        self.root = Path(root).resolve()
        self.url = url or f"sqlite:///{self.root / 'grader.sqlite3'}"

    @property
    def submissions(self) -> Path:
        return self.root / "submissions"

    @property
    def results(self) -> Path:
        return self.root / "results"

    def create(self) -> None:
        for path in (self.root, self.submissions, self.results):
            path.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    cur.execute("PRAGMA synchronous=FULL")  # an acknowledged upload survives a crash
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(data: DataFolder) -> Engine:
    if data.url.startswith("sqlite"):
        engine = create_engine(data.url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(data.url, pool_pre_ping=True)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (Alembic, programmatically)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def open_data(
    root: str | os.PathLike, *, migrate: bool = True
) -> tuple[DataFolder, Engine, sessionmaker]:
    data = DataFolder(root)
    data.create()
    engine = make_engine(data)
    if migrate:
        upgrade(engine)
    return data, engine, sessionmaker(engine, expire_on_commit=False)
