"""Alembic's migrations of the store's schema: env.py, the template of a new one, and versions/, oldest first."""
