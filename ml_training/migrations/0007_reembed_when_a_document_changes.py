from django.db import migrations

# A rag document whose content or embedding model changes needs its queue row re-embedded at once,
# not only when it is next retrieved or voted on. The trigger runs in the document write's own
# transaction; documents without a queue row yet are untouched (the first retrieval creates it).
MARK_CHANGED = """
CREATE FUNCTION ml_training_mark_reembedding() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ml_training_rag_embeddings_queue
    SET needs_reembedding = true,
        reembedding_reason = CASE WHEN content_hash <> NEW.content_hash THEN 'content changed'
                                  ELSE 'embedding model changed' END
    WHERE document_type = 'document' AND document_id = NEW.id::text
      AND (content_hash <> NEW.content_hash OR embedding_model <> NEW.embedding_model);
    RETURN NULL;
END $$;
CREATE TRIGGER ml_training_reembed_changed_document
    AFTER UPDATE OF content_hash, embedding_model ON rag_document
    FOR EACH ROW WHEN (OLD.content_hash IS DISTINCT FROM NEW.content_hash
                       OR OLD.embedding_model IS DISTINCT FROM NEW.embedding_model)
    EXECUTE FUNCTION ml_training_mark_reembedding();
"""

UNMARK = """
DROP TRIGGER IF EXISTS ml_training_reembed_changed_document ON rag_document;
DROP FUNCTION IF EXISTS ml_training_mark_reembedding();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("ml_training", "0006_merge_openai_channel_and_registry"),
        ("rag", "0008_korean_model_names"),
    ]

    operations = [migrations.RunSQL(MARK_CHANGED, UNMARK)]
