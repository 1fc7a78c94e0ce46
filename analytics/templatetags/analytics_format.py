"""Number formats of the dashboard; the chart script (dashboard.js) formats alike."""

from django import template

register = template.Library()


@register.filter
def percent(value) -> str:
    """0.1234 -> '12.3 %'; no value -> '–'."""
    return "–" if value is None else f"{value * 100:.1f} %"


@register.filter
def ms(value) -> str:
    """1234.56 -> '1234.6'; no value -> '–'."""
    return "–" if value is None else f"{value:.1f}"
