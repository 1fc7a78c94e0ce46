"""DRF messages whose Korean translation (DRF's ko_KR) reads half English, e.g. "이 필드는 blank일 수
없습니다": listed here so that makemessages keeps them in locale/ko, whose translations take precedence
over DRF's (LOCALE_PATHS come first). The msgids must stay exactly DRF's."""

from django.utils.translation import gettext_noop

OVERRIDDEN = [
    gettext_noop("This field may not be blank."),
    gettext_noop("This field may not be null."),
    gettext_noop("Date has wrong format. Use one of these formats instead: {format}."),
    gettext_noop("Datetime has wrong format. Use one of these formats instead: {format}."),
    gettext_noop("Time has wrong format. Use one of these formats instead: {format}."),
    gettext_noop("Duration has wrong format. Use one of these formats instead: {format}."),
    gettext_noop("Datetime value out of range."),
    gettext_noop("Invalid data. Expected a dictionary, but got {datatype}."),
]
