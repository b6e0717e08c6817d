"""The bus's own tables sit beside the events in the service's store: one way
to tell which database that is and to write a statement for it."""
from __future__ import annotations


def store_kind(datastore) -> str | None:
    """"sqlite", "postgres", or None for a store with no SQL (the popo store of unit tests)."""
    module = type(datastore).__module__ if datastore is not None else ""
    return "sqlite" if module.endswith("sqlite") else "postgres" if module.endswith("postgres") else None


def statement(kind: str, datastore, text: str, **tables: str):
    """`text` with `?` placeholders and `{name}` tables, for the store's driver:
    on PostgreSQL the tables are quoted and put in the store's schema."""
    if kind == "sqlite":
        return text.format(**tables)
    from psycopg import sql

    schema = datastore.schema or "public"
    return sql.SQL(text.replace("?", "%s")).format(
        **{name: sql.Identifier(schema, table) for name, table in tables.items()})


def as_tuple(row):
    """A row as a tuple, whether the driver gave a dict or a sequence."""
    if row is None:
        return None
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)
