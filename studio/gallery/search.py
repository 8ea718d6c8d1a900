"""Search by prompt words, backed by an index on each database Studio runs on.

SQLite: an FTS5 external-content table over generations_generation(prompt),
kept in sync by triggers. PostgreSQL: a GIN index on to_tsvector('english',
...prompt), queried with exactly that expression so the planner can use it.
Both match every word, as a prefix ("light" finds "lighthouse"), stemmed
("lighthouses" finds "lighthouse").

The index lives on another app's table, so it is made here (a gallery
migration, and again after every migrate on SQLite, where rebuilding a table
drops its triggers).
"""

from __future__ import annotations

import re

from django.db import connection
from django.db.models.expressions import RawSQL

FTS_TABLE = "gallery_prompt_fts"
PG_INDEX = "gallery_generation_prompt_search"
PG_CONFIG = "english"
# The index's expression, and the query's, character for character. PostgreSQL's
# parser reads "<b>" as an HTML tag and leaves its words out; people type prompts,
# not markup, so angle brackets are made spaces first (as FTS5 sees them).
PG_DOCUMENT = f"to_tsvector('{PG_CONFIG}', translate(prompt, '<>', '  '))"
SOURCE = "generations_generation"
MAX_WORDS = 12
# Dropped from queries on both databases, as PostgreSQL's english config does.
STOP_WORDS = frozenset(
    "a an and are as at be by for from in into is it of on or the to with".split()
)

_SQLITE_TRIGGERS = {
    f"{FTS_TABLE}_ai": f"""
        CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ai AFTER INSERT ON {SOURCE} BEGIN
            INSERT INTO {FTS_TABLE}(rowid, prompt) VALUES (new.id, new.prompt);
        END""",
    f"{FTS_TABLE}_ad": f"""
        CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON {SOURCE} BEGIN
            INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, prompt)
                VALUES ('delete', old.id, old.prompt);
        END""",
    # Only when the prompt is written: status moves must not touch the index.
    f"{FTS_TABLE}_au": f"""
        CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE OF prompt ON {SOURCE} BEGIN
            INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, prompt)
                VALUES ('delete', old.id, old.prompt);
            INSERT INTO {FTS_TABLE}(rowid, prompt) VALUES (new.id, new.prompt);
        END""",
}


def words_of(text: str) -> list[str]:
    words = [w for w in re.findall(r"[^\W_]+", text.lower()) if w not in STOP_WORDS]
    return list(dict.fromkeys(words))[:MAX_WORDS]


def matching_generation_ids(text: str, *, using=None) -> RawSQL | None:
    """A subquery of the ids of generations whose prompt has every word of `text`.

    None when `text` has no words to look for (then there is nothing to filter).
    """
    words = words_of(text)
    if not words:
        return None
    vendor = (using or connection).vendor
    if vendor == "sqlite":
        match = " ".join(f'"{w}"*' for w in words)  # quoted: never parsed as FTS syntax
        return RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [match])
    if vendor == "postgresql":
        query = " & ".join(f"{w}:*" for w in words)
        return RawSQL(
            f"SELECT id FROM {SOURCE} WHERE {PG_DOCUMENT} @@ to_tsquery('{PG_CONFIG}', %s)",
            [query],
        )
    raise NotImplementedError(f"Prompt search has no index on {vendor}.")


# --- the index ------------------------------------------------------------------------------


def ensure_index(conn) -> None:
    """Create the index if it is missing (and, on SQLite, refill it). Safe to repeat."""
    if conn.vendor == "sqlite":
        _ensure_sqlite(conn)
    elif conn.vendor == "postgresql":
        with conn.cursor() as cursor:
            # CONCURRENTLY: the migration runs outside a transaction, and a large
            # gallery keeps taking writes while the index is built.
            concurrently = "" if conn.in_atomic_block else "CONCURRENTLY "
            cursor.execute(
                f"CREATE INDEX {concurrently}IF NOT EXISTS {PG_INDEX} ON {SOURCE} "
                f"USING gin (({PG_DOCUMENT}))"
            )


def drop_index(conn) -> None:
    with conn.cursor() as cursor:
        if conn.vendor == "sqlite":
            for name in _SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
        elif conn.vendor == "postgresql":
            cursor.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")


def _ensure_sqlite(conn) -> None:
    with conn.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {row[0] for row in cursor.fetchall()}
        if {FTS_TABLE, *_SQLITE_TRIGGERS} <= present:
            return
        cursor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
            f"prompt, content='{SOURCE}', content_rowid='id', tokenize='porter unicode61')"
        )
        for sql in _SQLITE_TRIGGERS.values():
            cursor.execute(sql)
        # Rows written while a trigger was missing: refill from the table itself.
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
