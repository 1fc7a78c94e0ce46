"""Image descriptions: an OpenAI-compatible vision chat model, or a local description from the file header.

`get_vision().describe(images)` returns one Korean description per image, for at most
`AI_IMAGE_MODEL_MAX_IMAGES` images (extra images are ignored, so the result may be shorter than the
input). Over HTTP each image is its own `/chat/completions` request to `AI_IMAGE_MODEL_BASE_URL` with
model `AI_IMAGE_MODEL_NAME`, as in seed 001: a user message holding the text part
`AI_IMAGE_MODEL_PROMPT` and an `image_url` part with a base64 `data:` URL whose mime type comes from
the file's magic bytes. Bytes that are not a known image format are not sent; they get a short
local note instead.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass

from django.conf import settings

from .http import HttpEndpoint

LOCAL_VISION_MODEL = "local-image-metadata"
AUTO_PREFIX = "[자동 설명]"


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "PNG", "JPEG", ...
    mime_type: str
    width: int | None
    height: int | None
    size: int


_SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "PNG", "image/png"),
    (b"\xff\xd8\xff", "JPEG", "image/jpeg"),
    (b"GIF87a", "GIF", "image/gif"),
    (b"GIF89a", "GIF", "image/gif"),
    (b"BM", "BMP", "image/bmp"),
]


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the first SOFn segment."""
    position = 2
    while position + 9 < len(data):
        if data[position] != 0xFF:
            position += 1
            continue
        marker = data[position + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            position += 1 if marker == 0xFF else 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return width, height
        position += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def image_info(data: bytes) -> ImageInfo | None:
    """Format, mime type and pixel size from the file header; None for unknown formats."""
    size = len(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        dims = _webp_size(data)
        return ImageInfo("WEBP", "image/webp", *(dims or (None, None)), size)
    for signature, name, mime in _SIGNATURES:
        if data.startswith(signature):
            dims = None
            if name == "PNG" and len(data) >= 24 and data[12:16] == b"IHDR":
                dims = struct.unpack(">II", data[16:24])
            elif name == "GIF" and len(data) >= 10:
                dims = struct.unpack("<HH", data[6:10])
            elif name == "JPEG":
                dims = _jpeg_size(data)
            elif name == "BMP" and len(data) >= 26:
                width, height = struct.unpack("<ii", data[18:26])
                dims = (width, abs(height))
            return ImageInfo(name, mime, *(dims or (None, None)), size)
    return None


def data_url(data: bytes, mime_type: str) -> str:
    return f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"


def _human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}MB"
    if size >= 1024:
        return f"{size / 1024:.1f}KB"
    return f"{size}바이트"


def unsupported_description(data: bytes) -> str:
    return f"{AUTO_PREFIX} 이미지 형식을 알 수 없는 파일입니다 ({_human_size(len(data))})."


def local_description(info: ImageInfo) -> str:
    parts = [f"{AUTO_PREFIX} {info.format} 이미지"]
    if info.width and info.height:
        shape = "가로로 긴" if info.width > info.height else "세로로 긴" if info.height > info.width else "정사각형"
        parts.append(f"{shape} {info.width}×{info.height} 픽셀")
    parts.append(_human_size(info.size))
    return ", ".join(parts) + ". 이미지 인식 모델이 설정되지 않아 파일 정보만으로 만든 설명입니다."


class LocalVision:
    """Describes images from their headers only (format, size in pixels and bytes), marked as automatic."""

    model = LOCAL_VISION_MODEL

    def __init__(self, max_images: int):
        self.max_images = max_images

    def describe(self, images: list[bytes]) -> list[str]:
        descriptions = []
        for data in list(images)[: self.max_images]:
            info = image_info(data)
            descriptions.append(local_description(info) if info else unsupported_description(data))
        return descriptions


class HttpVision:
    """POST {AI_IMAGE_MODEL_BASE_URL}/chat/completions, one request per image."""

    def __init__(self, endpoint: HttpEndpoint, model: str, prompt: str, max_images: int):
        self.endpoint = endpoint
        self.model = model
        self.prompt = prompt
        self.max_images = max_images

    def payload(self, data: bytes, mime_type: str) -> dict:
        return {
            "model": self.model,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": self.prompt},
                        {"type": "image_url", "image_url": {"url": data_url(data, mime_type)}},
                    ],
                }
            ],
        }

    def describe(self, images: list[bytes]) -> list[str]:
        descriptions = []
        for data in list(images)[: self.max_images]:
            info = image_info(data)
            if info is None:
                descriptions.append(unsupported_description(data))
                continue
            body = self.endpoint.post_json("chat/completions", self.payload(data, info.mime_type))
            try:
                text = body["choices"][0]["message"]["content"]
            except (KeyError, IndexError, TypeError) as exc:
                raise self.endpoint.error("chat/completions", "reply has no choices[0].message.content") from exc
            descriptions.append((text or "").strip())
        return descriptions


def get_vision() -> HttpVision | LocalVision:
    """The configured image describer: HTTP when AI_IMAGE_MODEL_BASE_URL is set, else the local one."""
    max_images = max(0, int(settings.AI_IMAGE_MODEL_MAX_IMAGES))
    if settings.AI_IMAGE_MODEL_BASE_URL:
        endpoint = HttpEndpoint.from_settings(
            "vision", settings.AI_IMAGE_MODEL_BASE_URL, getattr(settings, "AI_IMAGE_MODEL_API_KEY", "")
        )
        return HttpVision(endpoint, settings.AI_IMAGE_MODEL_NAME, settings.AI_IMAGE_MODEL_PROMPT, max_images)
    return LocalVision(max_images)
