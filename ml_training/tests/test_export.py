"""Export of training data: formats, filters, masking, the staff streaming API and the command."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ml_training.models import DataQueueItem

pytestmark = pytest.mark.django_db

URL = "/api/v1/ml/training-data/export"


def queued(text="5천원으로 뭐 먹지", quality="0.9", days_ago=0, model_type="nlu", **raw):
    return DataQueueItem.objects.create(
        model_type=model_type,
        raw_data={"input_text": text, "intent": "BUDGET_INQUIRY", "entities": {"budget": 5000}, **raw},
        quality_score=Decimal(quality),
        source_table="conversations",
        source_id=str(DataQueueItem.objects.count() + 1),
        created_at=timezone.now() - dt.timedelta(days=days_ago),
    )


def export(tmp_path, *args) -> str:
    target = tmp_path / "out"
    call_command("export_training_data", "--model-type", "nlu", "--output", str(target), *args)
    return target.read_text(encoding="utf-8")


def test_jsonl_has_one_masked_sample_per_line(tmp_path):
    queued()
    queued("김민수님 010-1234-5678로 연락주세요")  # unmasked when it was queued: masked on the way out

    lines = [json.loads(line) for line in export(tmp_path, "--format", "jsonl").splitlines()]

    assert [line["sample"]["input_text"] for line in lines] == ["5천원으로 뭐 먹지", "[NAME]님 [PHONE]로 연락주세요"]
    assert {"id", "model_type", "created_at", "quality_score", "source_table", "source_id"} <= set(lines[0])


def test_json_is_one_array(tmp_path):
    queued()
    queued()

    assert len(json.loads(export(tmp_path, "--format", "json"))) == 2


def test_json_of_nothing_is_an_empty_array(tmp_path):
    assert json.loads(export(tmp_path, "--format", "json")) == []


def test_csv_is_flat_with_nested_values_as_json(tmp_path):
    queued()

    rows = list(csv.DictReader(io.StringIO(export(tmp_path, "--format", "csv"))))

    assert rows[0]["input_text"] == "5천원으로 뭐 먹지"
    assert json.loads(rows[0]["entities"]) == {"budget": 5000}


def test_days_and_min_quality_filter(tmp_path):
    queued("recent good", quality="0.9")
    queued("recent weak", quality="0.5")
    queued("old good", quality="0.9", days_ago=40)

    texts = [json.loads(line)["sample"]["input_text"] for line in export(tmp_path, "--days", "30").splitlines()]

    assert texts == ["recent good"]
    assert len(export(tmp_path, "--days", "60", "--min-quality", "0.4").splitlines()) == 3


def test_a_reviewers_label_is_exported_with_the_sample(tmp_path):
    item = queued()
    DataQueueItem.objects.filter(pk=item.pk).update(label_intent="FOOD_REQUEST", label_entities={"food_type": "김밥"})

    line = json.loads(export(tmp_path))

    assert line["sample"]["label"] == {"intent": "FOOD_REQUEST", "entities": {"food_type": "김밥"}}


def test_the_command_refuses_a_bad_quality():
    with pytest.raises(CommandError):
        call_command("export_training_data", "--model-type", "nlu", "--min-quality", "2")


def test_staff_stream_the_same_export(staff_client):
    queued("김민수님 안녕")

    response = staff_client.get(URL, {"model_type": "nlu", "file_format": "jsonl"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    body = b"".join(response.streaming_content).decode()
    assert json.loads(body)["sample"]["input_text"] == "[NAME]님 안녕"


def test_non_staff_are_refused(alice_client):
    assert alice_client.get(URL, {"model_type": "nlu"}).status_code == 403


@pytest.mark.parametrize(
    "params", [{}, {"model_type": "x"}, {"model_type": "nlu", "file_format": "xml"}, {"model_type": "nlu", "days": 0}]
)
def test_bad_parameters_are_400(staff_client, params):
    response = staff_client.get(URL, params)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_the_whole_corpus_leaves_no_pii_in_an_export(tmp_path):
    from ml_training.services.masking import CORPUS_PATH

    cases = [json.loads(line) for line in CORPUS_PATH.read_text(encoding="utf-8").splitlines()]
    for case in cases:
        queued(case["text"])

    exported = export(tmp_path, "--format", "csv")

    assert not [span for case in cases for span in case["pii"] if span in exported]
