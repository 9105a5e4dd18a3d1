"""Alembic migrations of the slickwatch database (env.py, versions/)."""
