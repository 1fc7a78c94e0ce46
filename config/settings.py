"""Settings for the chatbot platform, read from the environment (see README "Configuration").

With DATABASE_URL / REDIS_URL unset, embedded PostgreSQL + pgvector and Redis are started under
VAR_DIR and shared by every process of the project.
"""

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import embedded
from config.api.tags import TAGS as API_TAGS
from config.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

# pytest (>= 8.2) exports PYTEST_VERSION: tests get their own database, cache prefix and queue per
# process so that parallel runs never share state.
TESTING = "PYTEST_VERSION" in os.environ
RUN_ID = f"test{os.getpid()}" if TESTING else ""

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1", "testserver"}


def public_hosts_of(allowed_hosts: list[str]) -> list[str]:
    return [host for host in allowed_hosts if host not in LOCAL_HOSTS]


def check_deployment_safety(debug: bool, secret_key: str, allowed_hosts: list[str]) -> None:
    """Refuse settings that would be unsafe on a public host."""
    public_hosts = public_hosts_of(allowed_hosts)
    if debug and public_hosts:
        raise ImproperlyConfigured(
            f"DEBUG is on while ALLOWED_HOSTS names public hosts {public_hosts}; set DEBUG=0 for a public deployment"
        )
    if not debug and secret_key == DEV_SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (the development key is public)")
    if not debug and len(secret_key) < 32:
        raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters when DEBUG is off")


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
check_deployment_safety(DEBUG, SECRET_KEY, ALLOWED_HOSTS)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- HTTPS (on by default for a public deployment; a loopback-only DEBUG=0 run, e.g. a benchmark, stays on HTTP)
HTTPS = env_bool("HTTPS", not DEBUG and bool(public_hosts_of(ALLOWED_HOSTS)))
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health$"]  # load-balancer probes often speak plain HTTP
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
# Behind a proxy that terminates TLS: the header it sets to "https" (e.g. X-Forwarded-Proto). Only set
# it when the proxy always sets or strips that header, or clients could claim HTTPS themselves.
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")

# --- embedded services -------------------------------------------------------------------------
try:
    DATABASE_URL = env_str("DATABASE_URL") or embedded.postgres_url(VAR_DIR)
    REDIS_URL = env_str("REDIS_URL") or f"unix://{embedded.redis_socket(VAR_DIR)}"
except embedded.EmbeddedServiceError as exc:
    sys.exit(f"error: {exc}")

INSTALLED_APPS = [
    "config.admin_site.ProjectAdminConfig",  # django.contrib.admin with the index grouped by task
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "config",
    "chat",
    "rag",
    "analytics",
    "ml_training",
]

MIDDLEWARE = [
    "config.api.middleware.ApiLanguageMiddleware",  # first: every API message below is in the request's language
    "config.api.middleware.ApiInputMiddleware",  # it sees (and answers for) everything below
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------------------
_database = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
# psycopg 3's pool serves ASGI well (no per-request connect); tests use plain connections so that
# pytest-django can create and drop its databases freely.
_database.setdefault("OPTIONS", {})["pool"] = env_bool("DATABASE_POOL", not TESTING)
if TESTING:
    _database["TEST"] = {"NAME": f"test_{_database['NAME']}_{os.getpid()}"}
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and Redis --------------------------------------------------------------------------
CACHES = {
    "default": {
        "BACKEND": "config.cache.SharedPoolRedisCache",  # one connection pool per process, not per request
        "LOCATION": f"{REDIS_URL}?db=1" if REDIS_URL.startswith("unix://") else REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "chatbots") + RUN_ID,
        "TIMEOUT": 300,
    }
}
if REDIS_URL.startswith("unix://"):
    CELERY_BROKER_URL = "redis+socket://" + REDIS_URL.removeprefix("unix://")
else:
    CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = f"celery-{RUN_ID}" if TESTING else "celery"
# Training jobs have a queue of their own: `make run` serves it with one niced worker process, so a job
# never competes at equal priority with the web or the other tasks (bench_chat --training-turns).
CELERY_TRAINING_QUEUE = CELERY_TASK_DEFAULT_QUEUE if TESTING else env_str("CELERY_TRAINING_QUEUE", "training")
CELERY_TASK_ROUTES = {"ml_training.run_training_job": {"queue": CELERY_TRAINING_QUEUE}}
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A dead broker must not hang a request that enqueues work.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_timeout": 2, "socket_connect_timeout": 2, "max_retries": 1}
# Queuing a task also subscribes to its result; with Redis down that reconnect was retried for 19 s
# inside the request (an upload answered after 19 s). Give up after 2 s; the caller logs and moves on.
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": {"timeout": 2.0}}
CELERY_BEAT_SCHEDULER = "config.beat:EditableDatabaseScheduler"
CELERY_TIMEZONE = "Asia/Seoul"

# --- auth, i18n, static -----------------------------------------------------------------------
if TESTING:
    # PBKDF2 costs ~1 s per user on a busy 2-core machine; tests create many users.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Korean everywhere; API requests may ask for English with Accept-Language (ApiLanguageMiddleware).
# "ko-kr", not "ko": DRF ships its Korean messages as ko_KR, which a plain "ko" would not find.
LANGUAGE_CODE = "ko-kr"
LANGUAGES = [("ko-kr", "한국어"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
# Threads per web worker process that serve synchronous views (config/asgi_handler.py); a further
# request waits for a free one. 2 measured best for the CPU-bound local chats (bench_load, README);
# views that wait on the network (an external LLM, non-streaming) want more.
WEB_THREADS = env_int("WEB_THREADS", 2)
if WEB_THREADS < 1:
    raise ImproperlyConfigured(f"WEB_THREADS={WEB_THREADS} must be 1 or more")

# --- HTTP API ---------------------------------------------------------------------------------
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "60/min")
# How many reverse proxies in front of the web server append to X-Forwarded-For. 0 (the default):
# the client is REMOTE_ADDR and the header is ignored, so a client cannot pick its own rate-limit key.
API_TRUSTED_PROXIES = env_int("API_TRUSTED_PROXIES", 0)
if API_TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured(f"API_TRUSTED_PROXIES={API_TRUSTED_PROXIES} must be 0 or more")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.api.authentication.PartnerApiKeyAuthentication",
        "config.api.authentication.UserTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["config.api.throttling.ClientRateThrottle"],
    "NUM_PROXIES": API_TRUSTED_PROXIES,  # DRF's get_ident: the client address is that many hops from the right
    # Bodies are JSON (depth limit, no NUL characters): a form cannot carry the nested objects and typed values
    # the schema describes. The two views that take forms say so: upload (multipart) and search (the seed's form).
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.ProjectAutoSchema",
    "EXCEPTION_HANDLER": "config.api.exceptions.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Korean chatbot platform API",
    "DESCRIPTION": "Dining assistant, RAG knowledge base, knowledge and partner chat, analytics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "TAGS": API_TAGS,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api.schema.add_error_responses",
        "config.api.schema.allow_blank_query_values",
        "config.api.schema.allow_blank_form_values",
    ],
    "SCHEMA_PATH_PREFIX": "/api/",  # operation ids stay api_v1_…; the /v1/ OpenAI API sits beside it
    # Same-named choice sets of different apps get stable, readable schema names.
    "ENUM_NAME_OVERRIDES": {
        "DocumentRagTypeEnum": "rag.models.documents.RagType",
        "ConversationRagTypeEnum": "chat.models.knowledge.RagType",
        "DocumentStatusEnum": "rag.models.documents.Document.Status",
        "MessageTypeEnum": "analytics.models.MessageLog.MessageType",
    },
}

# --- model providers (OpenAI-compatible HTTP; local deterministic defaults when unset) ---------
LLM_BASE_URL = env_str("LLM_BASE_URL")
LLM_MODEL = env_str("LLM_MODEL", "local-extractive")
LLM_API_KEY = env_str("LLM_API_KEY")
EMBEDDING_BASE_URL = env_str("EMBEDDING_BASE_URL")
EMBEDDING_MODEL = env_str("EMBEDDING_MODEL", "local-hashed-kiwi")
EMBEDDING_API_KEY = env_str("EMBEDDING_API_KEY")
EMBEDDING_DIMENSIONS = env_int("EMBEDDING_DIMENSIONS", 1536)
AI_IMAGE_MODEL_BASE_URL = env_str("AI_IMAGE_MODEL_BASE_URL")
AI_IMAGE_MODEL_NAME = env_str("AI_IMAGE_MODEL_NAME", "local-vision")
AI_IMAGE_MODEL_API_KEY = env_str("AI_IMAGE_MODEL_API_KEY")
AI_IMAGE_MODEL_PROMPT = env_str("AI_IMAGE_MODEL_PROMPT", "이미지를 상세히 한글로 설명해주세요.")
AI_IMAGE_MODEL_MAX_IMAGES = env_int("AI_IMAGE_MODEL_MAX_IMAGES", 5)
PROVIDER_TIMEOUT_SECONDS = env_float("PROVIDER_TIMEOUT_SECONDS", 30.0)
PROVIDER_MAX_RETRIES = env_int("PROVIDER_MAX_RETRIES", 3)
PROVIDER_RETRY_BACKOFF_SECONDS = env_float("PROVIDER_RETRY_BACKOFF_SECONDS", 0.5)  # first retry delay; doubles

# --- domain settings ----------------------------------------------------------------------------
RAG_UPLOAD_MAX_BYTES = env_int("RAG_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
RAG_SHARED_CACHE_TTL = env_int("RAG_SHARED_CACHE_TTL", 3600)
# rag.services.relevance gives each retrieved chunk P(it answers the question); chats ground only on
# chunks at or above this (none: "the documents do not cover it"). Chosen by `manage.py bench_no_answer
# --fit` (its trade-off table shows what a higher floor refuses and what it wins).
# The public Korean retrieval set (AutoRAG parquet files) the benchmarks and the rag trainer's gate read.
AUTORAG_DATASET_DIR = Path(env_str("AUTORAG_DATASET_DIR", str(BASE_DIR.parent / "shared/datasets/autorag_ko")))
RAG_RELEVANCE_FLOOR = env_float("RAG_RELEVANCE_FLOOR", 0.05)
if not 0.0 <= RAG_RELEVANCE_FLOOR <= 1.0:
    raise ImproperlyConfigured(f"RAG_RELEVANCE_FLOOR={RAG_RELEVANCE_FLOOR} must be between 0 and 1")
CONVERSATION_SAMPLE_RATE = env_float("CONVERSATION_SAMPLE_RATE", 1.0)
USER_HASH_SALT = env_str("USER_HASH_SALT", SECRET_KEY)
CONVERSATION_RETENTION_DAYS = env_int("CONVERSATION_RETENTION_DAYS", 30)  # sampled history; x3 for high priority
CONVERSATION_COMPRESS_AFTER_DAYS = env_int("CONVERSATION_COMPRESS_AFTER_DAYS", 7)  # history moves to gzip archives
MESSAGE_LOG_COMPRESS_AFTER_DAYS = env_int("MESSAGE_LOG_COMPRESS_AFTER_DAYS", 90)  # logs move to gzip archives
MESSAGE_LOG_RETENTION_DAYS = env_int("MESSAGE_LOG_RETENTION_DAYS", 365)  # log archives deleted after
KNOWLEDGE_CHAT_RETENTION_DAYS = env_int("KNOWLEDGE_CHAT_RETENTION_DAYS", 365)  # knowledge-chat conversations
FAQ_MATCH_THRESHOLD = env_float("FAQ_MATCH_THRESHOLD", 0.8)  # question similarity that gets a curated answer
LOG_OUTBOX_STUCK_AFTER_SECONDS = env_int("LOG_OUTBOX_STUCK_AFTER_SECONDS", 300)  # health says degraded past this
NLU_INTENT_MODEL_PATH = env_str("NLU_INTENT_MODEL_PATH", "")  # trained intent model JSON; empty = baseline
ML_TRAINING_COLLECT = env_bool("ML_TRAINING_COLLECT", True)  # chat turns feed the training-data queue
MODEL_STORE_DIR = Path(env_str("MODEL_STORE_DIR", str(VAR_DIR / "models")))  # registry artifacts (JSON + .npy)
NLU_PROMOTION_MIN_F1_GAIN = env_float("NLU_PROMOTION_MIN_F1_GAIN", 0.01)  # gate: macro-F1 gain δ on the frozen split
NLU_DROP_MARGIN = env_float("NLU_DROP_MARGIN", 0.10)  # retrain when low-confidence / negative rates rise this much

ADMIN_USERNAME = env_str("ADMIN_USERNAME", "admin")
ADMIN_PASSWORD = env_str("ADMIN_PASSWORD")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},  # one INFO line per provider request drowns everything else
        # Django's own console handler (DEBUG on) printed every record a second time, unformatted, before the
        # root logger's line: its records go to the root handler only (its other handler, mail_admins, had
        # nothing to do: no ADMINS and no mail server are configured).
        "django": {"handlers": [], "level": "INFO"},
    },
}
