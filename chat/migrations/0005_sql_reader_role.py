"""The NOLOGIN role the admin SQL route runs as (chat.services.sql_guard.READER_ROLE).

Roles are cluster-wide, so the role is created here, once and committed, rather than inside a
request or test transaction where a concurrent CREATE ROLE would wait for it. Table grants are
per-database and made on first use by `sql_guard.ensure_reader_role`. A database user without
CREATEROLE just gets a notice: the SQL route then relies on its READ ONLY transaction alone.
"""

from django.db import migrations

CREATE_READER_ROLE = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'chatbot_sql_reader') THEN
        CREATE ROLE chatbot_sql_reader NOLOGIN NOINHERIT;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;  -- created concurrently by another database's migrate
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'cannot create role chatbot_sql_reader; the SQL route will use READ ONLY transactions only';
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0004_routedecisionlog"),
    ]

    operations = [
        # Never dropped on reverse: other databases of the same cluster may use it.
        migrations.RunSQL(CREATE_READER_ROLE, reverse_sql=migrations.RunSQL.noop),
    ]
