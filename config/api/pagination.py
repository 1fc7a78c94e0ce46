import re

from django.utils.translation import gettext as _
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

_PAGE_NUMBER = re.compile(r"[1-9][0-9]{0,8}")


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_number(self, request, paginator):
        """A page that is not a number is the caller's mistake (400); a page past the end stays a 404."""
        page = request.query_params.get(self.page_query_param) or "1"
        if page in self.last_page_strings:
            return paginator.num_pages
        if _PAGE_NUMBER.fullmatch(page):
            return page
        raise ValidationError({self.page_query_param: [_("A page number must be a whole number from 1.")]})
