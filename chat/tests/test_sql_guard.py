"""The SQL guard: what `validate_select` lets through, and what `run_readonly` refuses on its own."""

import pytest
from django.db import connection

from chat.services import sql_guard
from chat.services.sql_guard import (
    ALLOWED_TABLES,
    READER_ROLE,
    SqlExecutionError,
    SqlTimeoutError,
    UnsafeSqlError,
    ensure_reader_role,
    execute_readonly,
    run_readonly,
    validate_select,
)
from chat.tests.hostile_sql import ENDLESS_RESULT_SQL, HOSTILE_SQL, HUGE_RESULT_SQL
from chat.tests.router_support import catalogue, database_state  # noqa: F401  (fixture)

LEGITIMATE_SQL = [
    "SELECT category, count(*) FROM shops GROUP BY 1 ORDER BY 2 DESC",
    "SELECT count(*) AS \"김밥집(%)\" FROM shops WHERE shop_name LIKE '%김밥%'",
    "select coalesce(avg(price), 0)::numeric(10, 2), round(avg(price)), min(price), max(price) from menus",
    "SELECT date_trunc('day', created_at) AS d, sum(total_used) FROM coupons"
    " WHERE valid_until >= current_date - interval '7 days' OR is_active GROUP BY 1",
    "SELECT lower(shop_name), length(shop_name), substring(shop_name from 1 for 2), shop_name || '!' FROM shops",
    "SELECT extract(year FROM created_at), to_char(created_at, 'YYYY-MM'), now(), age(now(), created_at) FROM shops",
    "SELECT CASE WHEN price > 5000 THEN '비쌈' ELSE '저렴' END, nullif(price, 0), greatest(price, 1) FROM menus",
    "SELECT shop_name, row_number() OVER (PARTITION BY category ORDER BY popularity_score DESC) FROM shops",
    "SELECT string_agg(shop_name, ', ' ORDER BY shop_name),"
    " count(DISTINCT category) FILTER (WHERE is_good_influence_shop) FROM shops",
    "WITH c AS (SELECT category, count(*) AS n FROM shops GROUP BY category) SELECT * FROM c WHERE n > 1",
    "SELECT category FROM shops UNION SELECT category FROM menus",
    "SELECT s.category, avg(m.price)::int FROM shops s JOIN menus m ON m.shop_id = s.id GROUP BY s.category",
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY price) FROM menus",
    "SELECT id FROM coupons WHERE '한식' = ANY(target_categories)",
    "SELECT count(*) FROM public.shops",
    "SELECT count(*) FROM SHOPS",
    "WITH a AS (SELECT 1 AS x), b AS (SELECT x FROM a) SELECT * FROM b",
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT sum(n) FROM t",
    "WITH users AS (SELECT id FROM shops) SELECT count(*) FROM users",
    "SELECT channel, sum(total_queries) FROM chat_statistics WHERE period = 'day' GROUP BY channel;",
    "-- shops per category\nSELECT category, count(*) FROM shops GROUP BY category",
    "SELECT d::date, count(s.id) FROM generate_series(current_date - 6, current_date, interval '1 day') d"
    " LEFT JOIN shops s ON s.created_at::date = d::date GROUP BY 1 ORDER BY 1",
]


@pytest.fixture
def reader_role(db):
    """The reader role exists and holds its grants before a test snapshots the database."""
    assert ensure_reader_role()
    return READER_ROLE


def test_the_hostile_list_has_at_least_100_distinct_statements():
    assert len(set(HOSTILE_SQL)) == len(HOSTILE_SQL) >= 100


@pytest.mark.parametrize("sql", HOSTILE_SQL)
def test_hostile_statement_is_rejected(sql):
    with pytest.raises(UnsafeSqlError) as raised:
        validate_select(sql)
    assert raised.value.reason


@pytest.mark.parametrize("sql", LEGITIMATE_SQL)
def test_read_query_over_allow_listed_tables_is_accepted(sql):
    assert validate_select(sql).upper().lstrip().startswith(("SELECT", "WITH"))


@pytest.mark.parametrize("sql", LEGITIMATE_SQL)
def test_accepted_query_runs_read_only_on_the_real_tables(catalogue, reader_role, sql):  # noqa: F811
    columns, rows = run_readonly(validate_select(sql))

    assert columns


def test_validated_text_is_regenerated_without_comments():
    canonical = validate_select("SELECT /* note */ count(*) -- trailing\nFROM shops")

    assert canonical == "SELECT COUNT(*) FROM shops"


def test_cte_may_shadow_an_allow_listed_name_but_not_reach_a_private_table():
    assert validate_select("WITH shops AS (SELECT 1 AS n) SELECT n FROM shops")
    with pytest.raises(UnsafeSqlError, match="users"):
        validate_select("WITH shops AS (SELECT * FROM users) SELECT * FROM shops")


@pytest.mark.django_db
def test_every_allow_listed_table_exists():
    assert set(connection.introspection.table_names()) >= ALLOWED_TABLES


@pytest.mark.django_db
def test_allow_listed_tables_hold_no_personal_columns():
    personal = {"name", "nickname", "email", "phone_number", "birth_date", "card_number", "user_id", "auth_user_id"}
    with connection.cursor() as cursor:
        for table in ALLOWED_TABLES:
            columns = {column.name for column in connection.introspection.get_table_description(cursor, table)}
            assert not columns & personal, table


# --- run_readonly without the guard (defence in depth) ----------------------------------------------------

WRITES_PAST_THE_GUARD = [
    "UPDATE shops SET shop_name = 'hacked'",
    "DELETE FROM coupons",
    "INSERT INTO shops (shop_name) VALUES ('x')",
    "SELECT 1) q; UPDATE shops SET shop_name = 'hacked'; SELECT (1",
    "SELECT 1) q; COMMIT; DELETE FROM coupons; SELECT (1",
    "SELECT 1) q; SET TRANSACTION READ WRITE; DELETE FROM menus; SELECT (1",
    "WITH d AS (DELETE FROM menus RETURNING id) SELECT count(*) FROM d",
    "SELECT * INTO evil FROM shops",
    "SELECT nextval('shops_id_seq')",
    "SELECT setval('shops_id_seq', 424242)",
    "SELECT lo_create(0)",
    "SELECT set_config('transaction_read_only', 'off', true)",
    "SELECT router_test_write()",
    "SELECT set_config('role', 'postgres', true), router_test_write()",
]


@pytest.fixture
def write_function(db):
    """A SQL function that writes when called: only the transaction mode can stop it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION router_test_write() RETURNS int LANGUAGE sql"
            " AS $$ UPDATE shops SET shop_name = 'hacked' RETURNING 1 $$"
        )
        cursor.execute("GRANT EXECUTE ON FUNCTION router_test_write() TO PUBLIC")


@pytest.mark.parametrize("sql", WRITES_PAST_THE_GUARD)
def test_read_only_runner_refuses_writes_even_without_validation(catalogue, reader_role, write_function, sql):  # noqa: F811
    before = database_state()

    with pytest.raises(SqlExecutionError):
        run_readonly(sql, timeout_ms=500)

    assert database_state() == before


@pytest.mark.parametrize("sql", WRITES_PAST_THE_GUARD)
def test_read_only_transaction_alone_refuses_writes_where_no_role_can_be_made(
    catalogue, write_function, monkeypatch, sql  # noqa: F811
):
    monkeypatch.setattr(sql_guard, "ensure_reader_role", lambda using="default": False)  # a database without CREATEROLE
    before = database_state()

    with pytest.raises(SqlExecutionError):
        run_readonly(sql, timeout_ms=500)

    assert database_state() == before


def test_without_the_role_a_write_is_stopped_by_read_only_mode(catalogue, monkeypatch):  # noqa: F811
    monkeypatch.setattr(sql_guard, "ensure_reader_role", lambda using="default": False)

    with pytest.raises(SqlExecutionError, match="read-only transaction"):
        run_readonly("SELECT nextval('shops_id_seq')")


def test_runner_uses_the_reader_role_which_cannot_read_personal_tables(catalogue, reader_role):  # noqa: F811
    result = execute_readonly("SELECT current_user AS who")

    assert result.used_reader_role
    assert result.rows == [(READER_ROLE,)]
    with pytest.raises(SqlExecutionError, match="permission denied"):
        run_readonly("SELECT name FROM users")


def test_reader_role_is_read_only_and_cannot_log_in(reader_role):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s", [reader_role]
        )
        assert cursor.fetchone() == (False, False, False, False)
        cursor.execute(
            "SELECT privilege_type FROM information_schema.role_table_grants WHERE grantee = %s"
            " UNION SELECT privilege_type FROM information_schema.column_privileges WHERE grantee = %s",
            [reader_role, reader_role],
        )
        assert {row[0] for row in cursor.fetchall()} == {"SELECT"}


def test_runner_leaves_the_session_as_it_found_it(catalogue, reader_role):  # noqa: F811
    before = database_state()

    run_readonly("SELECT count(*) FROM shops", timeout_ms=1234)

    assert database_state() == before


def test_statement_timeout_cancels_a_heavy_query(reader_role):
    with pytest.raises(SqlTimeoutError):
        run_readonly(
            "SELECT count(*) FROM generate_series(1, 100000) a CROSS JOIN generate_series(1, 100000) b", timeout_ms=200
        )


def test_row_cap_limits_rows_and_reports_truncation(reader_role):
    result = execute_readonly("SELECT g FROM generate_series(1, 1000) g ORDER BY g", row_limit=25)

    assert result.rows == [(n,) for n in range(1, 26)]
    assert result.truncated


def test_result_under_the_cap_is_not_truncated(reader_role):
    result = execute_readonly("SELECT g FROM generate_series(1, 5) g", row_limit=5)

    assert len(result.rows) == 5
    assert not result.truncated


def test_ensure_reader_role_is_idempotent(reader_role):
    assert ensure_reader_role()
    assert ensure_reader_role()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", [reader_role])
        assert cursor.fetchone()[0] == 1


# --- hidden columns: the guard and the database both refuse them -------------------------------------------


def test_hidden_statistics_column_is_not_in_the_allow_list():
    assert "top_queries" not in sql_guard.ALLOWED_COLUMNS["chat_statistics"]
    assert "created_by" not in sql_guard.ALLOWED_COLUMNS["coupons"]


@pytest.mark.django_db
def test_every_allow_listed_column_exists():
    with connection.cursor() as cursor:
        for table, columns in sql_guard.ALLOWED_COLUMNS.items():
            real = {column.name for column in connection.introspection.get_table_description(cursor, table)}
            assert columns <= real, (table, columns - real)


def test_reader_role_cannot_read_a_hidden_column_even_without_the_guard(reader_role):
    with pytest.raises(SqlExecutionError, match="permission denied"):
        run_readonly("SELECT top_queries FROM chat_statistics")
    with pytest.raises(SqlExecutionError, match="permission denied"):
        run_readonly("SELECT c FROM chat_statistics c")


def test_reader_role_still_reads_the_allowed_statistics_columns(reader_role):
    columns, rows = run_readonly("SELECT channel, sum(total_queries) FROM chat_statistics GROUP BY channel")

    assert columns == ["channel", "sum"]


def test_a_table_level_grant_is_narrowed_to_the_allowed_columns(reader_role):
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT SELECT ON TABLE chat_statistics TO {reader_role}")  # as older versions granted

    assert ensure_reader_role()

    with pytest.raises(SqlExecutionError, match="permission denied"):
        run_readonly("SELECT top_queries FROM chat_statistics")


# --- results too large to fetch -------------------------------------------------------------------------


@pytest.mark.parametrize("sql", HUGE_RESULT_SQL)
def test_a_huge_result_is_capped_in_bytes_while_fetching(reader_role, sql):
    result = execute_readonly(validate_select(sql))

    fetched = sum(len(str(value).encode()) for row in result.rows for value in row)
    assert fetched <= sql_guard.MAX_RESULT_BYTES
    assert result.oversized_cells or result.truncated


def test_a_value_over_the_cell_cap_arrives_as_a_note_of_its_size(reader_role):
    result = execute_readonly("SELECT 1 AS n, lpad('', 5000000, 'x') AS big, 'ok' AS small")

    assert result.rows == [(1, "[5,000,000 bytes: too large to show]", "ok")]
    assert result.oversized_cells == 1


def test_fetching_stops_at_the_result_byte_cap_and_says_so(reader_role):
    per_row = sql_guard.MAX_CELL_BYTES - 10
    result = execute_readonly(f"SELECT lpad('', {per_row}, 'x') FROM generate_series(1, 150)")

    assert result.truncated
    assert len(result.rows) == sql_guard.MAX_RESULT_BYTES // per_row


def test_a_result_with_too_many_columns_is_refused(reader_role):
    columns = ", ".join(f"{n} AS c{n}" for n in range(sql_guard.MAX_COLUMNS + 1))

    with pytest.raises(SqlExecutionError, match="columns"):
        run_readonly(f"SELECT {columns}")


@pytest.mark.parametrize("sql", ENDLESS_RESULT_SQL)
def test_a_value_too_big_to_build_is_stopped_in_the_database(reader_role, sql):
    with pytest.raises(SqlExecutionError):  # a timeout (SqlTimeoutError) or "requested length too large"
        run_readonly(validate_select(sql), timeout_ms=300)
