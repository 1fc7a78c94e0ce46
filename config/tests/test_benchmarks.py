"""The throw-away database of the benchmarks keeps the development data and cache out of the way."""

import os

import pytest
from django.conf import settings
from django.core.cache import cache

from config.benchmarks import throwaway_database

pytestmark = pytest.mark.django_db(transaction=True)  # CREATE DATABASE cannot run inside a transaction


def test_a_throwaway_database_has_a_cache_of_its_own_for_this_process_and_its_servers():
    outside_prefix = settings.CACHES["default"]["KEY_PREFIX"]
    cache.set("session-owner", "development")

    with throwaway_database("bench_selftest", apps=("config",)) as name:
        assert cache.get("session-owner") is None
        assert os.environ["CACHE_KEY_PREFIX"] == settings.CACHES["default"]["KEY_PREFIX"] == f"{outside_prefix}:{name}"

    assert cache.get("session-owner") == "development"
    assert settings.CACHES["default"]["KEY_PREFIX"] == outside_prefix
    assert "CACHE_KEY_PREFIX" not in os.environ or os.environ["CACHE_KEY_PREFIX"] != f"{outside_prefix}:{name}"
