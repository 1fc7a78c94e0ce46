"""The one exception every provider raises when a model call cannot be answered."""


class ProviderError(Exception):
    """A model provider (LLM, embedding, vision) failed.

    The message names the provider, the URL, the HTTP status (when there was a response), the reason
    and how many attempts were made, so a log line alone tells an operator what to fix.
    """

    def __init__(
        self,
        reason: str,
        *,
        provider: str = "",
        url: str = "",
        status_code: int | None = None,
        attempts: int = 1,
    ):
        self.reason = reason
        self.provider = provider
        self.url = url
        self.status_code = status_code
        self.attempts = attempts
        super().__init__(self._compose())

    def _compose(self) -> str:
        parts = [f"{self.provider or 'model'} provider"]
        if self.url:
            parts.append(f"POST {self.url}")
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        text = " ".join(parts) + f" failed: {self.reason}"
        if self.attempts > 1:
            text += f" (after {self.attempts} attempts)"
        return text
