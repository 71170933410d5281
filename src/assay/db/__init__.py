"""Persistence of metadata: SQLAlchemy models, sessions and Alembic migrations."""
