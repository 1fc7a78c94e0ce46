"""The API's operation tags: what callers do, not which Python app serves it (plain data: settings read it)."""

OPENAI_TAG = "OpenAI-compatible"

# First match wins: the path below /api/v1/. Everything under /v1/ is the OpenAI-compatible API.
TAG_RULES: list[tuple[str, str]] = [
    (r"^users/[^/]+/coupons|^coupons", "Coupons"),
    (r"^chat|^users/|^recommendations", "Dining"),
    (r"^rag/(chat|conversations)", "Knowledge chat"),
    (r"^rag/", "Knowledge base"),
    (r"^partners", "Partners"),
    (r"^analytics", "Analytics"),
    (r"^ml|^feedback|^training", "ML training"),
    (r"^(health|me|auth)", "Accounts"),
]

TAGS = [
    {"name": "Dining", "description": "The dining assistant: chat turns, profiles, preferences, selections."},
    {"name": "Coupons", "description": "A user's coupon wallet and applying a coupon to an order."},
    {"name": "Knowledge base", "description": "Documents (upload, sync by doc_id, list, delete) and search."},
    {"name": "Knowledge chat", "description": "Grounded chat over the knowledge base: plain, streamed, regenerated."},
    {"name": "Partners", "description": "Partner sessions (warm-up, message stream, tuning log) and partners."},
    {"name": "Analytics", "description": "Staff: message logs, conversation histories, statistics."},
    {"name": "ML training", "description": "Feedback, the training-data queue, jobs and model versions."},
    {"name": "Accounts", "description": "Health, identity and tokens."},
    {"name": OPENAI_TAG, "description": "The chatbots in OpenAI's chat completions wire format."},
]
