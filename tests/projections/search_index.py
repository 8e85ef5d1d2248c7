"""What a views file's full-text search index holds, to compare two files by it.

The index's own tables (``search_index_*``) hold segments whose layout depends on how it
was filled (a rebuild builds it in one pass, the catch-up a transaction at a time), so two
files holding the same documents are compared by what their indexes *say*: every word
of every document, where it occurs, with the document named by its key.
"""

import sqlite3
from pathlib import Path
from typing import Any

#: The tables of the index itself, compared through :func:`indexed_words`.
INDEX_TABLES = "search_index"


def is_index_table(name: str) -> bool:
    """Whether ``name`` is the full-text index or one of its own tables."""
    return name == INDEX_TABLES or name.startswith(f"{INDEX_TABLES}_")


def indexed_words(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """Every (entity, version, word, column, offset) the index holds, in order, after
    checking that the index agrees with the documents it was made from."""
    conn.execute("INSERT INTO search_index (search_index, rank) VALUES ('integrity-check', 1)")
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_words "
                 "USING fts5vocab(main, 'search_index', 'instance')")
    try:
        return conn.execute(
            "SELECT d.entity_id, d.entity_version, w.term, w.col, w.offset "
            "FROM temp.search_words AS w JOIN search_documents AS d ON d.id = w.doc "
            "ORDER BY 1, 2, 3, 4, 5").fetchall()
    finally:
        conn.execute("DROP TABLE temp.search_words")


def documents(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """Every search document without its row id (which only tells rows apart), in order."""
    return conn.execute(
        "SELECT kind, entity_id, product_id, entity_version, title, body, reason "
        "FROM search_documents ORDER BY entity_id, entity_version").fetchall()


def is_search_table(name: str) -> bool:
    """Whether ``name`` is a table of the search, compared through :func:`search_rows`."""
    return name == "search_documents" or is_index_table(name)


def search_rows(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """The search documents without their ids, and the words of the index, to compare."""
    return {"search_documents": documents(conn), "search_index (words)": indexed_words(conn)}


def search_content(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """:func:`search_rows` of the views file at ``path``."""
    conn = sqlite3.connect(path)
    try:
        return search_rows(conn)
    finally:
        conn.close()
