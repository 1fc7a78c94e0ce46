import re

from django.utils.translation import gettext as _
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

_WHOLE_NUMBER = re.compile(r"[1-9][0-9]{0,8}")


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_number(self, request, paginator):
        """A page that is not a number is the caller's mistake (400); a page past the end stays a 404."""
        page = request.query_params.get(self.page_query_param) or "1"
        if page in self.last_page_strings:
            return paginator.num_pages
        if _WHOLE_NUMBER.fullmatch(page):
            return page
        raise ValidationError({self.page_query_param: [_("A page number must be a whole number from 1.")]})

    def get_page_size(self, request):
        """1..max_page_size, or a 400: DRF's own reads `?page_size=abc` or `0` as the default, silently."""
        size = request.query_params.get(self.page_size_query_param) or ""
        if not size:
            return self.page_size
        if _WHOLE_NUMBER.fullmatch(size) and int(size) <= self.max_page_size:
            return int(size)
        raise ValidationError(
            {
                self.page_size_query_param: [
                    _("A page size must be a whole number from 1 to %(largest)d.") % {"largest": self.max_page_size}
                ]
            }
        )

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.page_query_param: {"minimum": 1},
            self.page_size_query_param: {"minimum": 1, "maximum": self.max_page_size},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters
