"""Alembic environment: runs on the connection handed over in ``config.attributes``."""

from alembic import context

from tidal.registry._schema import metadata


def run_migrations() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


# pytest's doctest collection imports this module outside alembic: then there is no config
if getattr(context, "config", None) is not None:
    run_migrations()
