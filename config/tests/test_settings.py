import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list
from config.settings import DEV_SECRET_KEY, check_deployment_safety

STRONG_KEY = "x" * 50


def test_debug_with_public_host_is_refused():
    with pytest.raises(ImproperlyConfigured, match="DEBUG is on"):
        check_deployment_safety(True, STRONG_KEY, ["chat.example.com"])


def test_development_secret_key_without_debug_is_refused():
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY must be set"):
        check_deployment_safety(False, DEV_SECRET_KEY, ["chat.example.com"])


def test_short_secret_key_without_debug_is_refused():
    with pytest.raises(ImproperlyConfigured, match="at least 32"):
        check_deployment_safety(False, "short", ["chat.example.com"])


def test_production_settings_with_strong_key_pass():
    check_deployment_safety(False, STRONG_KEY, ["chat.example.com"])
    check_deployment_safety(True, DEV_SECRET_KEY, ["localhost", "127.0.0.1"])


def test_ambiguous_boolean_is_refused(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        env_bool("SOME_FLAG", False)


def test_env_readers_parse_values(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "Yes")
    monkeypatch.setenv("SOME_INT", "42")
    monkeypatch.setenv("SOME_LIST", "a.com, b.com,")
    assert env_bool("SOME_FLAG", False) is True
    assert env_int("SOME_INT", 1) == 42
    assert env_list("SOME_LIST", []) == ["a.com", "b.com"]
    monkeypatch.setenv("SOME_INT", "forty")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("SOME_INT", 1)


def test_secret_can_be_read_from_a_file(tmp_path, monkeypatch):
    from config.env import env_str

    secret_file = tmp_path / "secret"
    secret_file.write_text("from-file\n")
    monkeypatch.setenv("MY_SECRET_FILE", str(secret_file))
    assert env_str("MY_SECRET") == "from-file"


def _manage_py(*args: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py in a subprocess with `env` on top of this environment (settings are read at start-up)."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )


PRODUCTION = {"DEBUG": "0", "SECRET_KEY": "k7Qw-" + "Zr9x" * 12, "ALLOWED_HOSTS": "chat.example.com"}


def _print_security(**env: str) -> list[str]:
    return _manage_py("shell", "--no-imports", "-c", PRINT_SECURITY, **env).stdout.split()


PRINT_SECURITY = (
    "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
    "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, getattr(s, 'SECURE_PROXY_SSL_HEADER', None))"
)


def test_check_deploy_is_clean_with_production_settings():
    result = _manage_py("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_a_public_deployment_enforces_https_by_default():
    assert _print_security(**PRODUCTION) == ["True", "31536000", "True", "True", "None"]


def test_a_loopback_only_run_without_debug_stays_on_plain_http():
    # The benchmarks run the server with DEBUG=0 on 127.0.0.1: a redirect to https would break them.
    loopback_only = {**PRODUCTION, "ALLOWED_HOSTS": "127.0.0.1,localhost"}

    assert _print_security(**loopback_only) == ["False", "0", "False", "False", "None"]


def test_https_behind_a_proxy_is_recognised_by_the_header_it_sets():
    printed = _print_security(**PRODUCTION, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")

    assert printed[-2:] == ["('HTTP_X_FORWARDED_PROTO',", "'https')"]


def test_unsafe_production_settings_stop_manage_py():
    env = {**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "chat.example.com"}
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_tests_run_on_their_own_database():
    assert settings.DATABASES["default"]["TEST"]["NAME"].startswith("test_")
    assert str(os.getpid()) in settings.DATABASES["default"]["TEST"]["NAME"]


def test_a_django_log_record_is_printed_once_with_debug_on():
    """Django's own console handler (DEBUG on) printed each record a second time beside the root handler's line."""
    probe = "import logging; logging.getLogger('django.request').warning('probe-%s', 'line')"

    result = _manage_py("shell", "--no-imports", "-c", probe, DEBUG="1")

    assert result.stderr.count("probe-line") == 1, result.stderr
    assert "WARNING django.request: probe-line" in result.stderr
