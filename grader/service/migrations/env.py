"""Alembic environment: run by ``grader.service.database.upgrade`` with the
connection in ``config.attributes``."""

from alembic import context

from grader.service.models import Base

config = context.config
connection = config.attributes.get("connection")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
