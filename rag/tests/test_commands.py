"""Management commands and demo data of the rag app."""

import io

import pytest
from django.core.management import call_command

from rag import demo
from rag.models import Document
from rag.tests.helpers import add_document

pytestmark = pytest.mark.django_db


def test_reembed_rebuilds_the_chunks_of_one_rag_key():
    target = add_document("다시 임베딩할 문서", rag_key="a")
    untouched = add_document("그대로 둘 문서", rag_key="b")
    before = {doc.pk: set(doc.chunks.values_list("id", flat=True)) for doc in (target, untouched)}
    out = io.StringIO()

    call_command("reembed", rag_key="a", stdout=out, stderr=io.StringIO())

    assert set(target.chunks.values_list("id", flat=True)).isdisjoint(before[target.pk])
    assert set(untouched.chunks.values_list("id", flat=True)) == before[untouched.pk]
    assert "re-embedded 1 document(s), 0 failed" in out.getvalue()


def test_demo_data_loads_idempotently():
    demo.load(io.StringIO())
    first = dict(Document.objects.values_list("doc_id", "content_hash"))

    demo.load(io.StringIO())

    assert dict(Document.objects.values_list("doc_id", "content_hash")) == first
    assert Document.objects.filter(status="ready").count() == len(first) == len(demo.SHARED) + len(demo.USER_DOCUMENTS)
