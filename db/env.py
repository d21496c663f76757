"""Alembic environment for labbench.

The app runs migrations itself at open (``labbench.storage.engine.upgrade``) and passes
its connection in ``config.attributes["connection"]``.  For developers writing a new
migration: ``alembic -c db/alembic.ini -x db=PATH_OR_URL revision --autogenerate -m "..."``.
"""

from alembic import context

from labbench.storage.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode recreates the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return

    from labbench.storage.engine import make_engine, resolve_url

    engine = make_engine(resolve_url(context.get_x_argument(as_dictionary=True).get("db")))
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("labbench migrations run online only (labbench db upgrade).")
run_migrations_online()
