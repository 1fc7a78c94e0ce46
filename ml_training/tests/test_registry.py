"""The model registry: data artifacts with checksums, one champion per model type, A/B and rollback."""

import threading

import numpy as np
import pytest
from django.db import IntegrityError, connections, transaction

from ml_training.models import ModelVersion
from ml_training.services import artifacts, registry, serving
from ml_training.tests.registry_factories import FOOD, nlu_version

pytestmark = pytest.mark.usefixtures("model_store")


@pytest.fixture
def refresh_every_call(monkeypatch):
    monkeypatch.setattr(serving, "CHECK_INTERVAL_S", 0.0)


def test_versions_are_numbered_semantically_per_model_type(db):
    assert [nlu_version().version for _ in range(3)] == ["0.1.0", "0.2.0", "0.3.0"]
    assert registry.next_version("nlu", bump="major") == "1.0.0"
    assert registry.next_version("nlu", bump="patch") == "0.3.1"
    assert registry.next_version("rag") == "0.1.0"


def test_an_artifact_is_json_and_npy_loadable_without_pickle_and_checksummed(db, model_store):
    version = nlu_version()

    directory = model_store / version.model_path
    assert sorted(p.name for p in directory.iterdir()) == ["bias.npy", "manifest.json", "weights.npy"]
    assert version.checksum == artifacts.checksum(directory) and len(version.checksum) == 64
    manifest, arrays = registry.load_artifact(version)
    assert manifest["kind"] == "linear"
    np.testing.assert_array_equal(arrays["weights"], np.load(directory / "weights.npy", allow_pickle=False))
    assert version.deployment_status == "testing" and version.model_size_mb is not None


def test_a_tampered_artifact_is_refused(db, model_store):
    version = nlu_version()
    weights = model_store / version.model_path / "weights.npy"
    np.save(weights, np.load(weights) * 2, allow_pickle=False)

    with pytest.raises(artifacts.ArtifactRefused, match="체크섬"):
        registry.load_artifact(version)


def test_a_champion_with_a_tampered_artifact_leaves_the_previous_version_serving(
    db, model_store, refresh_every_call, django_capture_on_commit_callbacks
):
    first, second = nlu_version(note="first"), nlu_version(note="second")
    with django_capture_on_commit_callbacks(execute=True):
        registry.activate(first, by="staff")
    assert serving.nlu_classifier_for(1)[1]["version"] == first.version
    (model_store / second.model_path / "manifest.json").write_text("{}", "utf-8")

    with django_capture_on_commit_callbacks(execute=True):
        registry.activate(second, by="staff")

    classifier, attribution = serving.nlu_classifier_for(1)
    assert attribution == {"version_id": first.pk, "version": first.version, "group": "champion"}
    assert classifier.metadata["note"] == "first"


def test_the_audit_lines_of_a_version_read_in_korean(db):
    version = nlu_version()

    registry.start_ab(version, 20, by="kim")
    registry.stop_ab("nlu", by="lee")
    registry.activate(version, by="park")

    version.refresh_from_db()
    lines = [line.split(" ", 2)[2] for line in version.notes.splitlines()]  # without the date and time
    assert lines[-3:] == ["A/B 테스트 20% 시작 (처리: kim)", "A/B 테스트 중지됨 (처리: lee)", "활성화됨 (처리: park)"]


def test_activation_retires_the_previous_champion_with_who_and_when(db):
    first, second = nlu_version(), nlu_version()
    registry.activate(first, by="kim")
    registry.activate(second, by="lee")

    first.refresh_from_db()
    second.refresh_from_db()
    assert (second.is_active, second.deployment_status, second.deployed_by) == (True, "production", "lee")
    assert (first.is_active, first.deployment_status, first.retired_by) == (False, "deprecated", "lee")
    assert first.deployed_at < first.retired_at <= second.deployed_at
    assert "활성화됨 (처리: kim)" in first.notes and "챔피언 교체됨 (처리: lee)" in first.notes


def test_the_database_refuses_a_second_active_version(db):
    first, second = nlu_version(), nlu_version()
    registry.activate(first, by="staff")

    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=second.pk).update(is_active=True)


@pytest.mark.django_db(transaction=True)
def test_concurrent_activations_leave_exactly_one_active_version():
    versions = [nlu_version() for _ in range(4)]
    barrier = threading.Barrier(len(versions))
    errors = []

    def activate(version):
        try:
            barrier.wait()
            registry.activate(version, by="staff")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=activate, args=(version,)) for version in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert ModelVersion.objects.filter(model_type="nlu", is_active=True).count() == 1
    assert ModelVersion.objects.filter(model_type="nlu", deployment_status="deprecated").count() == 3


def test_rollback_reactivates_the_champion_before_the_current_one(db):
    first, second = nlu_version(), nlu_version()
    registry.activate(first, by="staff")
    registry.activate(second, by="staff")

    assert registry.rollback("nlu", by="staff").pk == first.pk
    assert registry.champion("nlu").pk == first.pk
    second.refresh_from_db()
    assert second.deployment_status == "deprecated"


def test_rollback_without_a_previous_champion_is_refused(db):
    registry.activate(nlu_version(), by="staff")

    with pytest.raises(registry.RegistryError, match="되돌릴 이전 nlu 챔피언이 없습니다"):
        registry.rollback("nlu", by="staff")


def test_one_challenger_per_model_type_and_never_the_champion(db):
    champion, first, second = nlu_version(), nlu_version(), nlu_version()
    registry.activate(champion, by="staff")
    registry.start_ab(first, 10, by="staff")
    registry.start_ab(second, 10, by="staff")

    assert registry.challenger("nlu").pk == second.pk
    first.refresh_from_db()
    assert (first.ab_test_group, first.traffic_percentage) == ("", 0)
    with pytest.raises(registry.RegistryError, match="챔피언입니다"):
        registry.start_ab(champion, 10, by="staff")
    with pytest.raises(registry.RegistryError, match="0보다 크고 100 이하"):
        registry.start_ab(first, 0, by="staff")


def _challenger_users(users) -> set[int]:
    return {user for user in users if serving.nlu_classifier_for(user)[1]["group"] == "challenger"}


def test_challenger_share_is_sticky_and_raising_it_only_adds_users(
    db, refresh_every_call, django_capture_on_commit_callbacks
):
    champion, candidate = nlu_version(), nlu_version(FOOD + [("안녕", "GENERAL_CHAT")])
    users = range(1, 1001)
    with django_capture_on_commit_callbacks(execute=True):
        registry.activate(champion, by="staff")
        registry.start_ab(candidate, 10, by="staff")
    at_10 = _challenger_users(users)
    assert at_10 == _challenger_users(users)  # every turn of every session: same group
    assert 60 <= len(at_10) <= 140

    with django_capture_on_commit_callbacks(execute=True):
        registry.start_ab(candidate, 20, by="staff")
    at_20 = _challenger_users(users)

    assert at_10 < at_20 and 140 <= len(at_20) <= 260
    assert {serving.nlu_classifier_for(u)[1]["version"] for u in at_20} == {candidate.version}


def test_stopping_the_ab_test_serves_everyone_the_champion(db, refresh_every_call, django_capture_on_commit_callbacks):
    champion, candidate = nlu_version(), nlu_version()
    with django_capture_on_commit_callbacks(execute=True):
        registry.activate(champion, by="staff")
        registry.start_ab(candidate, 50, by="staff")
    assert _challenger_users(range(100))

    with django_capture_on_commit_callbacks(execute=True):
        registry.stop_ab("nlu", by="staff")

    assert _challenger_users(range(100)) == set()
    candidate.refresh_from_db()
    assert candidate.retired_by == "staff" and candidate.deployment_status == "testing"


def test_bucket_is_sha256_of_experiment_and_user():
    import hashlib

    expected = int(hashlib.sha256(b"nlu-ab-7:42").hexdigest(), 16) % 10000
    assert serving.bucket("nlu-ab-7", 42) == expected


def test_with_redis_down_the_loaded_champion_keeps_serving(
    db, settings, tmp_path, refresh_every_call, django_capture_on_commit_callbacks, caplog
):
    champion = nlu_version()
    with django_capture_on_commit_callbacks(execute=True):
        registry.activate(champion, by="staff")
    assert serving.nlu_classifier_for(7)[1]["version"] == champion.version
    dead = f"{tmp_path}/no-redis.sock"
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], "LOCATION": f"unix://{dead}?db=1"}}

    assert serving.nlu_classifier_for(7)[1]["version"] == champion.version
    assert "model registry check failed" in caplog.text
