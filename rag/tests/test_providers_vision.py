"""Image descriptions: base64 data URLs to an OpenAI-compatible vision model, or a local header-based note."""

import base64
import struct
import zlib

import pytest

from rag.providers import ProviderError
from rag.providers.vision import AUTO_PREFIX, HttpVision, LocalVision, get_vision, image_info


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00;"


def webp(width: int, height: int) -> bytes:
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little")
    vp8x += (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


def bmp(width: int, height: int) -> bytes:
    return b"BM" + b"\x00" * 12 + struct.pack("<Iii", 40, width, -height) + b"\x00" * 28


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (png(64, 32), ("PNG", "image/png", 64, 32)),
        (jpeg(800, 600), ("JPEG", "image/jpeg", 800, 600)),
        (gif(10, 20), ("GIF", "image/gif", 10, 20)),
        (webp(1920, 1080), ("WEBP", "image/webp", 1920, 1080)),
        (bmp(5, 7), ("BMP", "image/bmp", 5, 7)),
    ],
)
def test_image_info_reads_format_and_pixel_size_from_the_header(data, expected):
    info = image_info(data)

    assert (info.format, info.mime_type, info.width, info.height) == expected
    assert info.size == len(data)


def test_image_info_rejects_bytes_that_are_not_an_image():
    assert image_info(b"%PDF-1.7 not an image") is None


# --- local default ---------------------------------------------------------------------------------


@pytest.fixture
def local_vision(settings):
    settings.AI_IMAGE_MODEL_BASE_URL = ""
    settings.AI_IMAGE_MODEL_MAX_IMAGES = 5
    return get_vision()


def test_local_vision_is_used_without_base_url(local_vision):
    assert isinstance(local_vision, LocalVision)


def test_local_description_is_korean_marked_automatic_and_gives_the_size(local_vision):
    (description,) = local_vision.describe([png(640, 480)])

    assert description.startswith(AUTO_PREFIX)
    assert "PNG 이미지" in description
    assert "640×480 픽셀" in description
    assert "가로로 긴" in description


def test_local_description_of_unknown_bytes_says_so(local_vision):
    (description,) = local_vision.describe([b"plain text"])

    assert description.startswith(AUTO_PREFIX)
    assert "알 수 없는" in description


def test_local_vision_describes_at_most_max_images(local_vision, settings):
    settings.AI_IMAGE_MODEL_MAX_IMAGES = 2

    assert len(get_vision().describe([png(1, 1), gif(2, 2), jpeg(3, 3)])) == 2


# --- HTTP -------------------------------------------------------------------------------------------


def test_http_vision_is_used_when_base_url_is_set(openai_server):
    assert isinstance(get_vision(), HttpVision)


def test_http_vision_sends_the_prompt_and_the_image_as_a_base64_data_url(openai_server, settings):
    settings.AI_IMAGE_MODEL_PROMPT = "이미지를 상세히 한글로 설명해주세요."
    openai_server.chat_reply = "진행률 대시보드 화면입니다."
    image = png(32, 16)

    descriptions = get_vision().describe([image])

    assert descriptions == ["진행률 대시보드 화면입니다."]
    (request,) = openai_server.requests_to("/v1/chat/completions")
    assert request.json["model"] == "stub-vision"
    assert request.authorization == "Bearer test-vision-key"
    (message,) = request.json["messages"]
    text_part, image_part = message["content"]
    assert text_part == {"type": "text", "text": "이미지를 상세히 한글로 설명해주세요."}
    assert image_part["type"] == "image_url"
    prefix, encoded = image_part["image_url"]["url"].split(",", 1)
    assert prefix == "data:image/png;base64"
    assert base64.b64decode(encoded) == image


def test_http_vision_uses_the_mime_type_of_the_image_bytes(openai_server):
    get_vision().describe([jpeg(4, 4), gif(4, 4)])

    urls = [r.json["messages"][0]["content"][1]["image_url"]["url"] for r in openai_server.requests]
    assert [u.split(";", 1)[0] for u in urls] == ["data:image/jpeg", "data:image/gif"]


def test_http_vision_sends_at_most_max_images(openai_server, settings):
    settings.AI_IMAGE_MODEL_MAX_IMAGES = 2

    descriptions = get_vision().describe([png(1, 1), png(2, 2), png(3, 3)])

    assert len(descriptions) == 2
    assert len(openai_server.requests) == 2


def test_http_vision_does_not_send_bytes_that_are_not_an_image(openai_server):
    descriptions = get_vision().describe([b"<html>not an image</html>", png(2, 2)])

    assert descriptions[0].startswith(AUTO_PREFIX)
    assert len(openai_server.requests) == 1


def test_http_vision_reports_a_rejected_request_as_provider_error(openai_server):
    openai_server.fail_next(1, status=400, body={"error": {"message": "model does not support images"}})

    with pytest.raises(ProviderError, match="vision provider .*HTTP 400.*does not support images"):
        get_vision().describe([png(2, 2)])
