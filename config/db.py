"""One SQL statement that never breaks the caller's transaction, in one round trip.

Chat turns write their logs and appends with single statements. Wrapping each in `atomic()` would
cost BEGIN and COMMIT (or SAVEPOINT and RELEASE) round trips of their own, which on a turn of a few
milliseconds is a noticeable share; this helper keeps a statement to one round trip either way.
"""

import logging

import psycopg
from django.db import connection, transaction

logger = logging.getLogger(__name__)

_SAVEPOINT = "isolated_statement"


def execute_isolated(
    sql: str, params: list, *, fetch: bool = False, along_with: tuple[str, list] | None = None
):
    """Run one statement; its first row when `fetch` (None when it returned none). Raises when it fails.

    In autocommit mode the statement is atomic on its own. Inside a transaction it runs in a
    savepoint, so a refused statement rolls back alone and the caller's transaction carries on.
    `along_with` (sql, params) is a data-modifying statement sent as a CTE of this one: it shares the
    round trip and the fate of `sql` (e.g. a chat turn's analytics log, `enqueue_statement`).
    """
    if along_with is not None:
        sql, params = _with_cte(sql, params, along_with)
    with connection.cursor() as cursor:
        if not connection.in_atomic_block:
            cursor.execute(sql, params)
        elif isinstance(cursor.cursor, psycopg.ClientCursor):
            _execute_in_inline_savepoint(cursor, sql, params)
        else:  # server-side binding cannot send several statements at once: Django's savepoint
            with transaction.atomic():
                cursor.execute(sql, params)
        return cursor.fetchone() if fetch else None


def _with_cte(sql: str, params: list, along_with: tuple[str, list]) -> tuple[str, list]:
    """`sql` with `along_with` as its first CTE (joining the statement's own WITH list if it has one)."""
    extra_sql, extra_params = along_with
    head = sql.lstrip()
    if head[:5].upper() == "WITH ":
        return f"WITH along_with AS ({extra_sql}), {head[5:]}", [*extra_params, *params]
    return f"WITH along_with AS ({extra_sql}) {sql}", [*extra_params, *params]


def _execute_in_inline_savepoint(cursor, sql: str, params: list) -> None:
    """SAVEPOINT, the statement and RELEASE in ONE round trip (client-side binding sends them as one query).

    On failure the savepoint is rolled back, leaving the caller's transaction as it was.
    """
    try:
        cursor.execute(f"SAVEPOINT {_SAVEPOINT}; {sql}; RELEASE SAVEPOINT {_SAVEPOINT}", params)
        cursor.cursor.nextset()  # the first result is the SAVEPOINT's, the second the statement's
    except Exception:
        # Only a statement the server refused leaves the transaction aborted; an error raised before
        # anything was sent leaves it untouched and there is no savepoint to roll back to.
        if connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
            try:
                with connection.cursor() as recovery:
                    recovery.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}; RELEASE SAVEPOINT {_SAVEPOINT}")
            except Exception:  # the caller's transaction was already aborted before us
                logger.warning("execute_isolated: could not roll back its savepoint", exc_info=True)
        raise
