"""The safety net of the admin SQL route: validate an LLM-written query, then run it read-only.

Two independent layers, so that either one alone keeps the database unchanged:

1. `validate_select(sql)` parses the text with sqlglot (PostgreSQL dialect) and accepts only ONE
   plain read query: a SELECT, a WITH ... SELECT, or set operations of those. Everything is denied
   by default - statement kinds, functions, casts and tables must each be on an allow-list - and
   the query that is run is the one sqlglot regenerates from the checked tree (comments dropped),
   never the raw text, so the database cannot read something the parser did not see.
2. `run_readonly(sql)` runs a query in its own READ ONLY transaction with `statement_timeout`, a
   row cap, and (where the database lets us create it) the NOLOGIN role `chatbot_sql_reader`
   that holds SELECT on the allow-listed tables only. The query is sent with the extended query
   protocol, which refuses a second statement, and the transaction is always rolled back.

`ALLOWED_COLUMNS` is the one place that says which tables and columns the SQL route may read:
aggregate-safe catalogue and statistics columns, none holding a person's data (no users, profiles,
meal cards, wallets, conversations, logs, partner sessions, statistics' verbatim top queries).
"""

import logging
import re
import time
from dataclasses import dataclass
from functools import cache

import psycopg
import sqlglot
from django.apps import apps
from django.db import connections, transaction
from psycopg import errors as pg_errors
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.schema import MappingSchema
from sqlglot.tokens import TokenType

logger = logging.getLogger(__name__)
# sqlglot warns for every statement it can only parse as an opaque Command (DO, EXPLAIN, ...); the
# guard rejects those anyway, so that warning is noise, not news.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

READER_ROLE = "chatbot_sql_reader"
MAX_SQL_LENGTH = 5000
MAX_COLUMNS = 50
MAX_CELL_BYTES = 10_000  # one value, in text form
MAX_RESULT_BYTES = 1_000_000  # a whole result

# Columns the SQL route may read, per table (PostgreSQL names, schema `public`): catalogue and
# aggregate statistics only - never a person's data. Deny by default: a column added to one of these
# tables later stays unreadable until it is listed here.
ALLOWED_COLUMNS: dict[str, frozenset[str]] = {
    # seed 003 §3.1: shop catalogue (business phone/address are the shop's, not a person's)
    "shops": frozenset({
        "id", "shop_name", "category", "address_name", "road_address_name", "is_good_influence_shop",
        "is_food_card_shop", "business_hours", "phone", "owner_message", "latitude", "longitude", "current_status",
        "popularity_score", "quality_score", "recommendation_count", "created_at", "updated_at", "data_source",
    }),
    # seed 003 §3.2: menus and prices
    "menus": frozenset({
        "id", "shop_id", "menu_name", "price", "description", "category", "is_available", "is_popular", "options",
        "recommendation_frequency", "dietary_info", "created_at", "updated_at",
    }),
    # seed 003 §3.6: coupon definitions with issued/used totals (no per-user rows; not who created them)
    "coupons": frozenset({
        "id", "coupon_name", "description", "coupon_type", "discount_amount", "discount_rate", "max_discount_amount",
        "min_order_amount", "usage_type", "target_categories", "applicable_shop_ids", "target_user_types",
        "valid_from", "valid_until", "max_issue_count", "max_use_per_user", "total_issued", "total_used",
        "is_active", "priority_score", "created_at",
    }),
    # seed 002 §3.3: hourly/daily usage aggregates - not `top_queries`, users' verbatim messages
    "chat_statistics": frozenset({
        "id", "period", "period_start", "date", "hour", "channel", "collection_name", "total_queries",
        "unique_sessions", "avg_response_time_ms", "p50_response_time_ms", "p95_response_time_ms",
        "p99_response_time_ms", "total_tokens", "error_count", "regeneration_count", "computed_at",
    }),
}  # fmt: skip
ALLOWED_TABLES = frozenset(ALLOWED_COLUMNS)

# sqlglot expression classes (by name, so a sqlglot upgrade that drops one fails closed) that a
# read query may use. Anything else that is a function is rejected.
_ALLOWED_FUNCTION_CLASSES = frozenset(
    {
        # boolean connectors (sqlglot models AND/OR as functions)
        "And", "Or", "Xor",
        # aggregates
        "Count", "Sum", "Avg", "Min", "Max", "ArrayAgg", "GroupConcat", "Stddev", "StddevPop", "StddevSamp",
        "Variance", "VariancePop", "PercentileCont", "PercentileDisc", "AnyValue", "LogicalAnd", "LogicalOr",
        "Median", "CountIf", "Corr", "CovarPop", "CovarSamp",
        # window functions
        "RowNumber", "Rank", "DenseRank", "PercentRank", "CumeDist", "Ntile", "Lag", "Lead", "FirstValue",
        "LastValue", "NthValue",
        # conditionals and casts (cast targets are checked separately)
        "Case", "If", "Coalesce", "Nullif", "Greatest", "Least", "Cast", "Exists",
        # strings
        "Lower", "Upper", "Length", "Substring", "Trim", "Concat", "ConcatWs", "Left", "Right", "Replace",
        "SplitPart", "StrPosition", "Initcap", "Pad", "Reverse", "RegexpLike", "RegexpILike", "RegexpReplace",
        # dates and times
        "CurrentDate", "CurrentTimestamp", "CurrentTime", "Localtimestamp", "Localtime", "TimestampTrunc",
        "DateTrunc", "Extract", "TimeToStr", "StrToTime", "StrToDate", "ToChar", "DateBin", "Date",
        # maths
        "Abs", "Ceil", "Floor", "Round", "Sqrt", "Cbrt", "Pow", "Exp", "Ln", "Log", "Sign", "Trunc", "Pi",
        "Radians", "Degrees", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Atan2", "ToNumber",
        # json and arrays
        "JSONExtract", "JSONExtractScalar", "JSONBExtract", "JSONBExtractScalar", "JSONBContains", "Array",
        "ArraySize", "ArrayToString", "ArrayContains", "ArrayContainsAll", "ArrayOverlaps", "ArrayContainedBy",
        "ArrayPosition", "Unnest", "Explode", "JSONBContainsTopKey", "JSONBContainsAnyTopKeys",
        "JSONBContainsAllTopKeys",
        # row sources for date/number series (bounded by statement_timeout)
        "ExplodingGenerateSeries", "GenerateSeries",
    }
)

# Functions sqlglot does not model (it parses them as `Anonymous`), by lower-case PostgreSQL name.
_ALLOWED_FUNCTION_NAMES = frozenset(
    {
        "now", "age", "date_part", "date_trunc", "to_char", "to_date", "to_timestamp", "to_number", "make_date",
        "make_interval", "justify_days", "justify_hours", "justify_interval", "isfinite", "timezone",
        "char_length", "character_length", "octet_length", "btrim", "ltrim", "rtrim", "lpad", "rpad", "strpos",
        "initcap", "translate", "substr", "split_part", "concat_ws", "regexp_replace",
        "trunc", "div", "mod", "width_bucket", "ceiling", "power", "cbrt", "log10",
        "array_length", "cardinality", "array_to_string", "array_position", "unnest",
        "jsonb_array_length", "json_array_length", "jsonb_typeof", "json_typeof",
        "bool_and", "bool_or", "every", "mode", "percentile_cont", "percentile_disc", "string_agg",
        "count", "sum", "avg", "min", "max", "round", "coalesce", "nullif", "greatest", "least", "abs",
    }
)

_ALLOWED_CAST_TYPES = frozenset(
    {
        "SMALLINT", "INT", "BIGINT", "DECIMAL", "FLOAT", "DOUBLE", "BOOLEAN", "TEXT", "VARCHAR", "CHAR", "NCHAR",
        "NVARCHAR", "DATE", "TIME", "TIMETZ", "TIMESTAMP", "TIMESTAMPTZ", "INTERVAL", "JSON", "JSONB", "ARRAY",
    }
)

# Statement and clause kinds that never belong in a read query, wherever they appear in the tree.
_FORBIDDEN_NODE_CLASSES = tuple(
    cls
    for cls in (
        getattr(exp, name, None)
        for name in (
            "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "TruncateTable", "Command", "Into",
            "Lock", "Set", "SetItem", "Copy", "Transaction", "Commit", "Rollback", "Grant", "Revoke", "Use",
            "Pragma", "Describe", "Kill", "Cache", "Uncache", "LoadData", "Analyze", "Refresh", "Declare",
            "Block", "Parameter", "Placeholder", "SessionParameter", "ObjectIdentifier", "Returning",
            "Operator",  # OPERATOR(pg_catalog.+): an operator looked up by schema, outside the function checks
        )
    )
    if cls is not None
)

# Token kinds a read query does not need and that are popular for hiding things from parsers:
# dollar quoting, U&'...' unicode escapes, E'...' backslash escapes, bind parameters.
_FORBIDDEN_TOKENS = {
    TokenType.HEREDOC_STRING: "dollar-quoted strings are not allowed",
    TokenType.UNICODE_STRING: "unicode-escape strings are not allowed",
    TokenType.BYTE_STRING: "escape strings (E'...') are not allowed",
    TokenType.PARAMETER: "parameters are not allowed",
    TokenType.PLACEHOLDER: "placeholders are not allowed",
}
_UNICODE_ESCAPE = re.compile(r"u&\s*['\"]", re.IGNORECASE)
_SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})
# Zero-argument SQL functions PostgreSQL accepts without parentheses (they parse as column names).
_BARE_FUNCTIONS = frozenset(
    {"current_user", "session_user", "current_role", "user", "current_catalog", "current_schema", "system_user"}
)


class UnsafeSqlError(ValueError):
    """The query is not a single, allow-listed read query; `reason` says which rule it broke."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SqlExecutionError(RuntimeError):
    """The database refused or failed the query (permission, read-only violation, bad column...)."""


class SqlTimeoutError(SqlExecutionError):
    """The query ran longer than its statement_timeout and was cancelled."""


def validate_select(sql: str) -> str:
    """Return the canonical text of `sql` if it is one allow-listed read query; raise UnsafeSqlError otherwise."""
    if not isinstance(sql, str) or not sql.strip():
        raise UnsafeSqlError("empty query")
    if len(sql) > MAX_SQL_LENGTH:
        raise UnsafeSqlError(f"query longer than {MAX_SQL_LENGTH} characters")
    if "\x00" in sql:
        raise UnsafeSqlError("NUL byte in query")
    if _UNICODE_ESCAPE.search(sql):
        raise UnsafeSqlError("unicode-escape identifiers or strings are not allowed")
    _check_tokens(sql)
    try:
        statements = [s for s in sqlglot.parse(sql, read="postgres") if s is not None]
    except SqlglotError as exc:
        raise UnsafeSqlError(f"query does not parse: {str(exc).splitlines()[0][:200]}") from None
    if len(statements) != 1:
        raise UnsafeSqlError("exactly one statement is allowed")
    (statement,) = statements
    if not isinstance(statement, exp.Select | exp.SetOperation):
        raise UnsafeSqlError(f"only SELECT or WITH ... SELECT is allowed, not {statement.key.upper()}")
    for node in statement.walk():
        _check_node(node)
    _check_columns(statement)
    return statement.sql(dialect="postgres", comments=False)


def _check_tokens(sql: str) -> None:
    try:
        tokens = sqlglot.Dialect.get_or_raise("postgres").tokenize(sql)
    except SqlglotError as exc:
        raise UnsafeSqlError(f"query does not tokenize: {str(exc).splitlines()[0][:200]}") from None
    for index, token in enumerate(tokens):
        if token.token_type in _FORBIDDEN_TOKENS:
            raise UnsafeSqlError(_FORBIDDEN_TOKENS[token.token_type])
        if token.token_type == TokenType.SEMICOLON and index != len(tokens) - 1:
            raise UnsafeSqlError("exactly one statement is allowed")


def _check_node(node: exp.Expression) -> None:
    if isinstance(node, _FORBIDDEN_NODE_CLASSES):
        raise UnsafeSqlError(f"{node.key.upper()} is not allowed in a read query")
    if isinstance(node, exp.Dot) and not isinstance(node.expression, exp.Func):
        # (s).row_to_json is row_to_json(s): attribute notation calls a function on the whole row.
        raise UnsafeSqlError("field selection ((row).name) is not allowed")
    if isinstance(node, exp.Identifier) and node.name.lower() in _SYSTEM_SCHEMAS:
        raise UnsafeSqlError(f"system catalog {node.name} is not allowed")
    if isinstance(node, exp.Func):
        _check_function(node)
    elif isinstance(node, exp.DataType):
        _check_cast_type(node)
    elif isinstance(node, exp.Table):
        _check_table(node)
    elif isinstance(node, exp.Column) and _is_bare_function(node):
        raise UnsafeSqlError(f"{node.name} is not allowed")


def _check_columns(statement: exp.Expression) -> None:
    """Every column must be an allow-listed column of the table it resolves to.

    sqlglot resolves each column against the real columns of the allow-listed tables (so `SELECT *`
    expands to all of them, hidden ones included, and is refused if one is hidden). This also
    refuses PostgreSQL's attribute notation, where `s.row_to_json` is not a column but the call
    `row_to_json(s)`, and whole-row references (`SELECT s FROM shops s`, `array_agg(s)`), which
    would read every column of the row.
    """
    try:
        qualified = qualify(statement.copy(), schema=_table_schema(), dialect="postgres", quote_identifiers=False)
    except Exception as exc:  # noqa: BLE001 - sqlglot raises OptimizeError and, on odd trees, others: fail closed
        # e.g. `s.row_to_json`: not a column of shops, so PostgreSQL would call row_to_json(s)
        raise UnsafeSqlError(f"unknown column (or a function call in attribute notation): {_first_line(exc)}") from None
    for star in qualified.find_all(exp.Star):
        if not isinstance(star.parent, exp.Count):  # SELECT-list stars are expanded by now; count(*) is fine
            raise UnsafeSqlError("* is only allowed as the select list or in count(*)")
    row = qualified.find(exp.TableColumn)  # sqlglot's name for a table alias used as a value
    if row is not None:
        raise UnsafeSqlError(f"whole-row reference {row.name} is not allowed")
    for scope in traverse_scope(qualified):
        for column in scope.columns:
            if not column.table:
                continue
            source = _source_of(scope, column.table)
            if source is None:
                raise UnsafeSqlError(f"column {column.sql(dialect='postgres')} cannot be resolved")
            is_table = isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier)  # not a function
            if is_table and column.name not in ALLOWED_COLUMNS.get(source.name, ()):
                raise UnsafeSqlError(f"column {source.name}.{column.name} is not readable")


def _source_of(scope, name: str):
    """The table or derived scope `name` means in `scope`, looking outwards for correlated references."""
    while scope is not None:
        if name in scope.sources:
            return scope.sources[name]
        scope = scope.parent
    return None


@cache
def _table_schema() -> MappingSchema:
    """All real columns of the allow-listed tables (readable or not), from the Django models.

    Built once: normalising a schema costs sqlglot more than qualifying a query with it."""
    tables = {
        model._meta.db_table: {field.column: "TEXT" for field in model._meta.concrete_fields}
        for model in apps.get_models()
        if model._meta.db_table in ALLOWED_TABLES
    }
    return MappingSchema(tables, dialect="postgres")


def _is_bare_function(node: exp.Column) -> bool:
    """`current_user` and friends parse as unquoted, unqualified column names."""
    return not node.table and isinstance(node.this, exp.Identifier) and not node.this.quoted and (
        node.name.lower() in _BARE_FUNCTIONS
    )


def _check_function(node: exp.Func) -> None:
    if isinstance(node.parent, exp.Dot):
        raise UnsafeSqlError("schema-qualified function calls are not allowed")
    if isinstance(node, exp.Anonymous | exp.AnonymousAggFunc):
        name = node.name.lower()
        if name.startswith("pg_") or name not in _ALLOWED_FUNCTION_NAMES:
            raise UnsafeSqlError(f"function {name}() is not allowed")
    elif type(node).__name__ not in _ALLOWED_FUNCTION_CLASSES:
        raise UnsafeSqlError(f"function {node.sql_name().lower()}() is not allowed")


def _check_cast_type(node: exp.DataType) -> None:
    if node.this.name not in _ALLOWED_CAST_TYPES:
        raise UnsafeSqlError(f"type {node.sql(dialect='postgres').lower()} is not allowed")


def _check_table(node: exp.Table) -> None:
    if not isinstance(node.this, exp.Identifier):
        return  # a table function (FROM generate_series(...)): checked as a function
    if node.catalog or (node.db and node.db.lower() != "public"):
        raise UnsafeSqlError(f"schema-qualified table {node.sql(dialect='postgres')} is not allowed")
    name = _pg_name(node.this)
    refers_to_cte = not node.db and _is_cte_in_scope(node, name)
    if not refers_to_cte and name not in ALLOWED_TABLES:
        raise UnsafeSqlError(f"table {name} is not on the allow-list")


def _pg_name(identifier: exp.Identifier) -> str:
    """The name PostgreSQL resolves: unquoted identifiers fold to lower case, quoted ones are exact."""
    return identifier.name if identifier.quoted else identifier.name.lower()


def _cte_name(cte: exp.CTE) -> str | None:
    alias = cte.args.get("alias")
    return _pg_name(alias.this) if alias is not None and isinstance(alias.this, exp.Identifier) else None


def _is_cte_in_scope(node: exp.Expression, name: str) -> bool:
    """True when `name` at `node` means a CTE rather than a table, following PostgreSQL's scoping.

    A query's WITH list is visible in its body and in nested subqueries. Inside the WITH list, a
    CTE of a plain WITH sees only the CTEs before it (`WITH users AS (SELECT * FROM users)` reads
    the real table); under WITH RECURSIVE every CTE of the list, itself included, is visible.
    """
    child, parent = node, node.parent
    while parent is not None:
        if isinstance(parent, exp.With):
            ctes = parent.expressions
            position = next((i for i, cte in enumerate(ctes) if cte is child), 0)
            visible = ctes if parent.args.get("recursive") else ctes[:position]
        else:
            with_clause = next((v for v in parent.args.values() if isinstance(v, exp.With)), None)
            visible = with_clause.expressions if with_clause is not None and with_clause is not child else []
        if any(_cte_name(cte) == name for cte in visible):
            return True
        child, parent = parent, parent.parent
    return False


@dataclass(frozen=True)
class ReadonlyResult:
    columns: list[str]
    rows: list[tuple]
    truncated: bool  # more rows than row_limit, or the result went over MAX_RESULT_BYTES
    used_reader_role: bool
    duration_ms: int
    oversized_cells: int = 0  # values over MAX_CELL_BYTES, replaced by a note of their size


def run_readonly(sql: str, *, row_limit: int = 200, timeout_ms: int = 2000, using: str = "default"):
    """Run `sql` read-only and return `(columns, rows)`; see `execute_readonly` for the guarantees."""
    result = execute_readonly(sql, row_limit=row_limit, timeout_ms=timeout_ms, using=using)
    return result.columns, result.rows


def execute_readonly(sql: str, *, row_limit: int = 200, timeout_ms: int = 2000, using: str = "default"):
    """Run one query in a READ ONLY transaction that is always rolled back.

    It does not validate `sql` (call `validate_select` first) and does not need to for safety: the
    transaction is read-only, runs as the SELECT-only reader role where possible, is sent as a
    single extended-protocol statement (no second statement, no COMMIT escape), and is rolled back.

    What reaches this process is bounded too, whatever the query builds (`lpad('', 1e9, 'x')`,
    `string_agg` over a big series): the database measures every value and sends a value over
    MAX_CELL_BYTES as NULL plus its size (shown as a note), rows arrive one at a time and fetching
    stops once the result passes MAX_RESULT_BYTES (`truncated`), and at most MAX_COLUMNS columns.
    Raises SqlTimeoutError after `timeout_ms`, SqlExecutionError for any other database error.
    """
    row_limit, timeout_ms = int(row_limit), int(timeout_ms)
    if row_limit < 1 or timeout_ms < 1:
        raise ValueError("row_limit and timeout_ms must be positive")
    body = sql.strip().rstrip(";").replace("%", "%%")  # psycopg placeholders: a literal % is written %%
    use_role = ensure_reader_role(using)
    connection = connections[using]
    started = time.monotonic()
    try:
        with transaction.atomic(using=using):
            connection.ensure_connection()
            # A plain psycopg cursor binds server-side: the query goes out as one extended-protocol
            # statement, which PostgreSQL refuses to split into several commands.
            with psycopg.Cursor(connection.connection) as cursor:
                cursor.execute("SET LOCAL transaction_read_only = on")
                cursor.execute(f"SET LOCAL statement_timeout = {timeout_ms}")
                cursor.execute("SET LOCAL lock_timeout = 500")
                used_role = use_role and _set_reader_role(cursor, using)
                columns = _result_columns(cursor, body)
                rows, truncated, oversized = _fetch_capped(cursor, body, len(columns), row_limit)
            transaction.set_rollback(True, using=using)
    except pg_errors.QueryCanceled as exc:
        raise SqlTimeoutError(f"query cancelled after {timeout_ms} ms") from exc
    except psycopg.Error as exc:
        raise SqlExecutionError(_first_line(exc)) from exc
    return ReadonlyResult(
        columns=columns,
        rows=rows,
        truncated=truncated,
        used_reader_role=used_role,
        duration_ms=int((time.monotonic() - started) * 1000),
        oversized_cells=oversized,
    )


def _result_columns(cursor, body: str) -> list[str]:
    """The query's column names, from running it with LIMIT 0 (the executor then reads no row)."""
    # The newline keeps a trailing `--` comment from swallowing the closing parenthesis.
    cursor.execute(f"SELECT * FROM (\n{body}\n) AS chatbot_sql_result LIMIT %s", [0])
    columns = [column.name for column in cursor.description or []]
    if len(columns) > MAX_COLUMNS:
        raise SqlExecutionError(f"the query returns {len(columns)} columns; at most {MAX_COLUMNS} are allowed")
    return columns


def _fetch_capped(cursor, body: str, width: int, row_limit: int) -> tuple[list[tuple], bool, int]:
    """(rows, truncated, oversized cell count), fetched row by row within the byte caps."""
    # Each value comes with its size in text form (what the wire carries); a value over the cap is
    # sent as NULL. OFFSET 0 keeps the planner from inlining the query and computing a value twice.
    names = [f"c{i}" for i in range(width)]
    cells = ", ".join(
        f"CASE WHEN octet_length(r.{n}::text) > %s THEN NULL ELSE r.{n} END, octet_length(r.{n}::text)" for n in names
    )
    capped = (
        f"SELECT {cells} FROM (SELECT * FROM (\n{body}\n) AS chatbot_sql_inner OFFSET 0) AS r({', '.join(names)})"
        " LIMIT %s"
    )
    rows, total_bytes, oversized, truncated = [], 0, 0, False
    stream = cursor.stream(capped, [MAX_CELL_BYTES] * width + [row_limit + 1])
    try:
        for raw in stream:
            if len(rows) == row_limit:
                truncated = True
                break
            values, sizes = raw[0::2], raw[1::2]
            row = tuple(
                _oversized_note(size) if size is not None and size > MAX_CELL_BYTES else value
                for value, size in zip(values, sizes, strict=True)
            )
            oversized += sum(1 for size in sizes if size is not None and size > MAX_CELL_BYTES)
            total_bytes += sum(min(size or 0, MAX_CELL_BYTES) for size in sizes)
            if total_bytes > MAX_RESULT_BYTES:
                truncated = True
                break
            rows.append(row)
    finally:
        stream.close()  # stopping early cancels the rest of the query
    return rows, truncated, oversized


def _oversized_note(size: int) -> str:
    return f"[{size:,} bytes: too large to show]"


def _set_reader_role(cursor, using: str) -> bool:
    try:
        with transaction.atomic(using=using):  # a savepoint: a refused SET ROLE leaves the rest intact
            cursor.execute(f"SET LOCAL ROLE {READER_ROLE}")
    except psycopg.Error as exc:
        logger.warning("SQL route runs without the %s role (READ ONLY only): %s", READER_ROLE, _first_line(exc))
        return False
    return True


def ensure_reader_role(using: str = "default") -> bool:
    """Create the NOLOGIN reader role if missing and grant it SELECT on exactly the allow-listed columns.

    Column-level grants (a table-level grant is revoked), so the database itself refuses a hidden
    column, `SELECT *` and whole-row references over a table with one. Idempotent, one query when
    nothing changed, and safe to run concurrently. Returns False (and logs) when the database does not
    let this connection create or grant the role; the SQL route then relies on READ ONLY alone.
    """
    connection = connections[using]
    try:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [READER_ROLE])
            if cursor.fetchone() is None:
                _create_reader_role(cursor)
            cursor.execute(
                "SELECT c.relname, a.attname, has_table_privilege(%s, c.oid, 'SELECT'),"
                " has_column_privilege(%s, c.oid, a.attnum, 'SELECT')"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
                " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'm', 'p') AND c.relname = ANY(%s)",
                [READER_ROLE, READER_ROLE, sorted(ALLOWED_TABLES)],
            )
            for statement in _grant_statements(cursor.fetchall()):
                cursor.execute(statement)
    except Exception as exc:  # any refusal means "no role", never a failed answer
        logger.warning("cannot prepare the %s role, SQL route uses READ ONLY only: %s", READER_ROLE, exc)
        return False
    return True


def _grant_statements(privileges: list[tuple[str, str, bool, bool]]) -> list[str]:
    """GRANT/REVOKE that make (table, column, table-level grant?, column readable?) rows match ALLOWED_COLUMNS."""
    statements = []
    for table in sorted({row[0] for row in privileges}):
        rows = [row for row in privileges if row[0] == table]
        allowed = ALLOWED_COLUMNS[table]
        if any(table_grant for _, _, table_grant, _ in rows):
            statements.append(f'REVOKE SELECT ON TABLE "{table}" FROM {READER_ROLE}')
            # Re-grant the allowed columns; revoke hidden ones in case they were also granted one by one.
            rows = [(t, column, False, column not in allowed) for t, column, _, _ in rows]
        grant = [column for _, column, _, readable in rows if column in allowed and not readable]
        revoke = [column for _, column, _, readable in rows if column not in allowed and readable]
        if grant:
            statements.append(f'GRANT SELECT ({_column_list(grant)}) ON TABLE "{table}" TO {READER_ROLE}')
        if revoke:
            statements.append(f'REVOKE SELECT ({_column_list(revoke)}) ON TABLE "{table}" FROM {READER_ROLE}')
    return statements


def _column_list(columns: list[str]) -> str:
    return ", ".join(f'"{column}"' for column in columns)


def _create_reader_role(cursor) -> None:
    try:
        with transaction.atomic(using=cursor.db.alias):
            cursor.execute(f"CREATE ROLE {READER_ROLE} NOLOGIN NOINHERIT")
    except Exception as exc:  # another process created it between our check and our CREATE
        cause = exc.__cause__
        if not isinstance(cause, pg_errors.DuplicateObject | pg_errors.UniqueViolation):
            raise
    # On PostgreSQL 16 a CREATEROLE (non-superuser) creator may need membership to SET ROLE.
    cursor.execute(
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
    )
    if not cursor.fetchone()[0]:
        cursor.execute(f"GRANT {READER_ROLE} TO current_user")


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
