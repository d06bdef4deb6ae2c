"""Small SQL helpers that differ by dialect (kept here so capability code stays dialect-free)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table


def upsert(dialect: str, table: Table, keys: list[str], update: list[str], where: Any = None):
    """INSERT … ON CONFLICT (keys) DO UPDATE SET update-columns from the new row [WHERE …].
    `where` is a function (table, excluded) -> condition for replacing the stored row."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    stmt = insert(table)
    excluded = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=keys,
        set_={c: excluded[c] for c in update},
        where=where(table, excluded) if where is not None else None,
    )


def insert_ignore(dialect: str, table: Table, keys: list[str]):
    """INSERT … ON CONFLICT (keys) DO NOTHING."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    return insert(table).on_conflict_do_nothing(index_elements=keys)
