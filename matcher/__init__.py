"""Cầu Nối's engine: taxonomy, places, import validation, demo data — no Flask, no SQLAlchemy."""
