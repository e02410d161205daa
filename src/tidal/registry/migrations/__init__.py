"""Alembic migrations of the registry database, run by :func:`tidal.registry.migrate`."""
