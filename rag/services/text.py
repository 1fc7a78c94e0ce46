"""Text out of uploaded files (.txt .md .html .pdf .docx) and Korean-aware chunking.

Uploads are checked in the request (`check_upload`: type, emptiness, PDF/DOCX structure and zip-bomb
limits, all 4xx); the text of PDF and DOCX files is extracted by the ingestion worker (`extract_text`,
same limits), where a failure marks the document failed with the reason.
"""

import codecs
import io
import re
import zipfile
from html.parser import HTMLParser

from django.utils.translation import gettext as _

from rag.services.errors import RagError, invalid

UPLOAD_EXTENSIONS = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
WORKER_EXTENSIONS = (".pdf", ".docx")

# Limits of the binary formats (a 10 MiB upload must not become minutes of CPU or a gigabyte of memory).
DOCX_MAIN_PART = "word/document.xml"
DOCX_MAX_MEMBERS = 2000
DOCX_MAX_XML_BYTES = 20 * 1024 * 1024  # the main part, decompressed
DOCX_MAX_TOTAL_BYTES = 100 * 1024 * 1024  # every member, decompressed
DOCX_MAX_RATIO = 100  # as Apache POI's ZipSecureFile; real Word XML compresses ~3-30x, bombs 100-1000x
DOCX_RATIO_MIN_BYTES = 1024 * 1024  # small members may compress as well as they like
PDF_MAX_PAGES = 2000
MAX_EXTRACTED_CHARS = 5_000_000

# Chunks stay well inside any embedder's input window (OpenAI: 8191 tokens; Korean ~1-2 chars/token).
CHUNK_MAX_CHARS = 900
CHUNK_OVERLAP_CHARS = 150

# Sentence ends: punctuation followed by space. Unpunctuated lines (OCR, lists) are their own units.
_SENTENCE_END = re.compile(r"(?<=[.!?。？！…])\s+")
_PARAGRAPH = re.compile(r"\n\s*\n")


# --- extraction ---------------------------------------------------------------------------------


class _HtmlText(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "table"}
    SKIP = {"script", "style", "noscript", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


# Windows Notepad's "Unicode" is UTF-16 with a byte-order mark. None of these marks is valid CP949, so they cannot
# be mistaken for a Korean legacy file; UTF-32's come first, as they begin with UTF-16's.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decoded_text(data: bytes) -> str | None:
    """The text of an uploaded file in UTF-8, UTF-16/32 with a byte-order mark, or CP949; None if it is none of
    them. Used for documents and for the shop import's CSV files."""
    marked = [encoding for mark, encoding in _BYTE_ORDER_MARKS if data.startswith(mark)]
    for encoding in marked[:1] or ["utf-8-sig", "cp949"]:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _decode(data: bytes) -> str:
    text = decoded_text(data)
    if text is None:
        raise invalid("unreadable_text", _("The file is not UTF-8, UTF-16 (with a byte-order mark) or CP949 text."))
    return text


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def too_complex(message: str, details=None) -> RagError:
    return RagError("file_too_complex", message, 413, details)


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if len(reader.pages) > PDF_MAX_PAGES:
            raise too_complex(_("The PDF has more than %(limit)d pages.") % {"limit": PDF_MAX_PAGES})
        parts, size = [], 0
        for page in reader.pages:
            parts.append(page.extract_text() or "")
            size += len(parts[-1])
            if size > MAX_EXTRACTED_CHARS:
                raise too_complex(
                    _("The PDF holds more than %(limit)d characters of text.") % {"limit": MAX_EXTRACTED_CHARS}
                )
        return "\n\n".join(parts)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise invalid("broken_file", _("The PDF could not be read: %(reason)s") % {"reason": exc}) from exc


def _open_pdf(data: bytes) -> None:
    """Cheap structure check of a PDF (header, cross-reference table); its text is read by the worker."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if b"%PDF-" not in data[:1024]:
        raise invalid("broken_file", _("The file is not a PDF."))
    try:
        PdfReader(io.BytesIO(data), strict=False)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise invalid("broken_file", _("The PDF could not be read: %(reason)s") % {"reason": exc}) from exc


def _open_docx(data: bytes) -> zipfile.ZipFile:
    """The DOCX container, refused (4xx) before anything is decompressed if it is broken or a zip bomb:
    too many members, a main document part over DOCX_MAX_XML_BYTES, more than DOCX_MAX_TOTAL_BYTES in
    all, or a member that expands more than DOCX_MAX_RATIO times (sizes from the zip directory; zipfile
    never inflates a member past its declared size)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise invalid("broken_file", _("The DOCX file could not be read: %(reason)s") % {"reason": exc}) from exc
    names = {member.filename: member for member in members}
    if DOCX_MAIN_PART not in names:
        raise invalid("broken_file", _("The file is not a Word document (no word/document.xml)."))
    total = sum(member.file_size for member in members)
    too_big = (
        len(members) > DOCX_MAX_MEMBERS
        or total > DOCX_MAX_TOTAL_BYTES
        or names[DOCX_MAIN_PART].file_size > DOCX_MAX_XML_BYTES
        or any(
            member.file_size > DOCX_RATIO_MIN_BYTES and member.file_size > DOCX_MAX_RATIO * max(member.compress_size, 1)
            for member in members
        )
    )
    if too_big:
        raise too_complex(
            _("The DOCX file expands too much when decompressed (a zip bomb?)."),
            {"max_xml_bytes": DOCX_MAX_XML_BYTES, "max_total_bytes": DOCX_MAX_TOTAL_BYTES, "max_ratio": DOCX_MAX_RATIO},
        )
    return archive


def _check_docx(data: bytes) -> None:
    """Container limits plus a streaming well-formedness check of the main part (fast, constant memory)."""
    from lxml import etree

    with _open_docx(data) as archive, archive.open(DOCX_MAIN_PART) as part:
        try:
            for _event, element in etree.iterparse(part, events=("end",), resolve_entities=False, no_network=True):
                element.clear(keep_tail=True)
        except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError, EOFError) as exc:
            message = _("The DOCX file's word/document.xml is malformed: %(reason)s") % {"reason": exc}
            raise invalid("broken_file", message) from exc


def _docx_text(data: bytes) -> str:
    import docx

    _open_docx(data).close()
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, SyntaxError) as exc:  # lxml's XMLSyntaxError too
        raise invalid("broken_file", _("The DOCX file could not be read: %(reason)s") % {"reason": exc}) from exc
    lines = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(lines)


def _extension(filename: str) -> str:
    lowered = filename.lower()
    extension = next((ext for ext in UPLOAD_EXTENSIONS if lowered.endswith(ext)), None)
    if extension is None:
        raise invalid(
            "unsupported_file_type",
            _("Unsupported file type; allowed: %(extensions)s.") % {"extensions": ", ".join(UPLOAD_EXTENSIONS)},
            {"filename": filename},
        )
    return extension


def needs_worker_extraction(filename: str) -> bool:
    """PDF and DOCX text is extracted by the ingestion worker; plain text formats in the request."""
    return _extension(filename) in WORKER_EXTENSIONS


def check_upload(filename: str, data: bytes) -> None:
    """Refuse (4xx) an unsupported, empty or structurally broken file, without extracting its text."""
    extension = _extension(filename)
    if not data:
        raise invalid("empty_file", _("The file is empty."))
    if extension == ".pdf":
        _open_pdf(data)
    elif extension == ".docx":
        _check_docx(data)


def extract_text(filename: str, data: bytes) -> str:
    """The text of an uploaded file; RagError (4xx) for unsupported, broken or empty files."""
    extension = _extension(filename)
    if not data:
        raise invalid("empty_file", _("The file is empty."))
    if extension == ".pdf":
        text = _pdf_text(data)
    elif extension == ".docx":
        text = _docx_text(data)
    elif extension in (".html", ".htm"):
        text = html_to_text(_decode(data))
    else:
        text = _decode(data)
    text = normalise_text(text)
    if not text:
        raise invalid("empty_document", _("No text could be extracted from the file."))
    return text


def normalise_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


# --- chunking -----------------------------------------------------------------------------------


def split_sentences(text: str) -> list[str]:
    """Sentences of a Korean text: paragraphs and lines first, then sentence endings (다. 요. ! ? …)."""
    sentences: list[str] = []
    for paragraph in _PARAGRAPH.split(text):
        for line in paragraph.split("\n"):
            line = line.strip()
            if line:
                sentences.extend(piece.strip() for piece in _SENTENCE_END.split(line) if piece.strip())
    return sentences


def _hard_split(sentence: str, limit: int) -> list[str]:
    """A sentence longer than the limit, cut at spaces (or anywhere, for unspaced text)."""
    pieces: list[str] = []
    while len(sentence) > limit:
        cut = sentence.rfind(" ", 0, limit)
        cut = cut if cut > limit // 2 else limit
        pieces.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    if sentence:
        pieces.append(sentence)
    return pieces


def chunk_text(text: str, max_chars: int = CHUNK_MAX_CHARS, overlap_chars: int = CHUNK_OVERLAP_CHARS) -> list[str]:
    """Chunks of whole sentences up to max_chars; each chunk repeats the previous one's last sentences
    (up to overlap_chars) so a fact on a boundary stays retrievable."""
    sentences = [piece for sentence in split_sentences(text) for piece in _hard_split(sentence, max_chars)]
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    fresh = 0  # sentences in `current` not already in the previous chunk
    for sentence in sentences:
        if current and size + len(sentence) + 1 > max_chars:
            chunks.append("\n".join(current))
            overlap: list[str] = []
            overlap_size = 0
            for previous in reversed(current):
                if overlap_size + len(previous) + 1 > overlap_chars or overlap_size + len(previous) + len(
                    sentence
                ) + 2 > max_chars:
                    break
                overlap.insert(0, previous)
                overlap_size += len(previous) + 1
            current, size, fresh = overlap, overlap_size, 0
        current.append(sentence)
        size += len(sentence) + 1
        fresh += 1
    if current and fresh:
        chunks.append("\n".join(current))
    return chunks
