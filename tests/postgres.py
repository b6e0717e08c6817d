"""The PostgreSQL that the tests and the benchmark store in (POSTGRES_*, as
the services read them), and the clean-up of the throwaway schemas they make
there: without it every run leaves its stores behind in the shared database,
a dozen tables each."""
from __future__ import annotations

import os
import sys


def postgres_env() -> dict[str, str]:
    return {"POSTGRES_DBNAME": os.environ.get("POSTGRES_DBNAME", "test"),
            "POSTGRES_HOST": os.environ.get("POSTGRES_HOST", "127.0.0.1"),
            "POSTGRES_PORT": os.environ.get("POSTGRES_PORT", "5432"),
            "POSTGRES_USER": os.environ.get("POSTGRES_USER", "postgres"),
            "POSTGRES_PASSWORD": os.environ.get("POSTGRES_PASSWORD", "postgres")}


def drop_schemas(prefixes: list[str]) -> None:
    """Every schema named with one of these prefixes, dropped; one that cannot
    be (a lock held past 5 s) is named and the rest still go. Best effort: an
    untidy database fails no run."""
    from psycopg import sql

    from services.bus.settings import postgres_connection

    patterns = [prefix.replace("_", r"\_") + "%" for prefix in prefixes]
    try:
        with postgres_connection(postgres_env(), connect_timeout=5) as conn:
            conn.execute("SET lock_timeout = '5s'")
            schemas = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE ANY(%s)",
                                   (patterns,)).fetchall()
            for (schema,) in schemas:
                try:
                    conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
                except Exception as exc:  # noqa: BLE001 - drop the rest
                    print(f"could not drop the schema {schema}: {exc}", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        print(f"could not drop the schemas {', '.join(prefixes)}*: {exc}", file=sys.stderr)
