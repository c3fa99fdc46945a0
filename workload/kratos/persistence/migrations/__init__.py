"""Alembic migrations (``env.py`` + ``versions/``), driven by :mod:`kratos.persistence.migrate`."""
