"""Write a chat turn's log rows in one database round trip.

A turn writes a Conversation, its RecommendationLog, a PerformanceLog, bumps the recommendation
counters of the shops and menus it showed and the user's interaction count, and queues its
analytics message log. As separate ORM calls inside a transaction that is nine round trips (BEGIN,
4 INSERTs, 3 UPDATEs, COMMIT) on the request's critical path; as one statement with data-modifying
CTEs it is one, and a single statement is atomic by itself.

Columns and values come from the unsaved model instances (`_meta.concrete_fields`,
`pre_save`, `get_db_prep_save`), so the SQL follows the models when they change.
"""

from django.db import IntegrityError, connection

from chat.models import Conversation, Menu, PerformanceLog, RecommendationLog, Shop, UserProfile
from config.db import execute_isolated

CONVERSATION_ID = "(SELECT id FROM conversation)"
# The turn number is the session's last one + 1, read by the INSERT itself (one index lookup on the
# unique (session_id, conversation_turn) constraint). Two concurrent turns of a session may read the
# same last turn; the constraint refuses the second INSERT and it is sent again with a fresh snapshot.
NEXT_TURN = (
    f"(SELECT COALESCE(MAX(conversation_turn), 0) + 1 FROM {Conversation._meta.db_table} WHERE session_id = %s)"
)
TURN_CONSTRAINT = "chat_conversation_session_turn_uniq"
TURN_ATTEMPTS = 10


def _insert(instance, overrides: dict[str, tuple[str, list]]) -> tuple[str, list]:
    """INSERT for an unsaved instance; `overrides` maps column -> (SQL expression, its params) used instead."""
    meta = instance._meta
    columns, placeholders, params = [], [], []
    for field in meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.column in overrides:
            expression, expression_params = overrides[field.column]
            placeholders.append(expression)
            params += expression_params
            continue
        placeholders.append("%s")
        params.append(field.get_db_prep_save(field.pre_save(instance, add=True), connection))
    table = connection.ops.quote_name(meta.db_table)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(placeholders)})"
    return sql, params


def write_turn_log(
    conversation: Conversation,
    recommendation: RecommendationLog | None,
    performance: PerformanceLog,
    *,
    shop_ids: list[int],
    menu_ids: list[int],
    interaction_of: int | None = None,
    along_with: tuple[str, list] | None = None,
    collect: tuple[str, list] | None = None,
) -> tuple[int, int | None]:
    """Insert the rows (conversation links filled in), bump the shop/menu counters and the chat user
    `interaction_of`'s profile interaction_count, and run `along_with` (sql, params: the analytics
    log's `enqueue_statement`) and `collect` (the training-data queue's INSERT reading the
    `conversation` CTE, `ml_training.services.collection.dining_turn_statement`) as CTEs of the same
    statement (`execute_isolated`); returns (conversation id, recommendation log id or None). The
    instances get their primary keys set, and the conversation its turn number: the next of its
    session, whatever `conversation_turn` said."""
    statement, params = _turn_statement(
        conversation, recommendation, performance,
        shop_ids=shop_ids, menu_ids=menu_ids, interaction_of=interaction_of, collect=collect,
    )  # fmt: skip
    for attempt in range(1, TURN_ATTEMPTS + 1):
        try:
            conversation_id, log_id, turn = execute_isolated(statement, params, fetch=True, along_with=along_with)
            break
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
            if constraint != TURN_CONSTRAINT or attempt == TURN_ATTEMPTS:
                raise
    conversation.pk = conversation_id
    conversation.conversation_turn = turn
    performance.conversation_id = conversation_id
    if recommendation is not None:
        recommendation.pk = log_id
        recommendation.conversation_id = conversation_id
    return conversation_id, log_id


def _turn_statement(conversation, recommendation, performance, *, shop_ids, menu_ids, interaction_of, collect):
    ctes, params = [], []
    sql, values = _insert(conversation, {"conversation_turn": (NEXT_TURN, [conversation.session_id])})
    ctes.append(f"conversation AS ({sql} RETURNING id, conversation_turn)")
    params += values
    if recommendation is not None:
        sql, values = _insert(recommendation, {"conversation_id": (CONVERSATION_ID, [])})
        ctes.append(f"recommendation AS ({sql} RETURNING id)")
        params += values
    sql, values = _insert(performance, {"conversation_id": (CONVERSATION_ID, [])})
    ctes.append(f"performance AS ({sql})")
    params += values
    if shop_ids:
        ctes.append(
            f"shop_counts AS (UPDATE {Shop._meta.db_table} SET recommendation_count = recommendation_count + 1 "
            "WHERE id = ANY(%s))"
        )
        params.append(shop_ids)
    if menu_ids:
        ctes.append(
            f"menu_counts AS (UPDATE {Menu._meta.db_table} SET recommendation_frequency = recommendation_frequency + 1 "
            "WHERE id = ANY(%s))"
        )
        params.append(menu_ids)
    if interaction_of is not None:
        ctes.append(
            f"interactions AS (UPDATE {UserProfile._meta.db_table} SET interaction_count = interaction_count + 1 "
            "WHERE user_id = %s)"
        )
        params.append(interaction_of)
    if collect is not None:
        ctes.append(f"collected AS ({collect[0]})")
        params += collect[1]
    recommendation_id = "(SELECT id FROM recommendation)" if recommendation is not None else "NULL::bigint"
    statement = (
        f"WITH {', '.join(ctes)} SELECT {CONVERSATION_ID}, {recommendation_id},"
        " (SELECT conversation_turn FROM conversation)"
    )
    return statement, params
