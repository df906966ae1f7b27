"""Number formats of the results page."""

from django import template

from models_app.selectors import Summary

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


@register.filter
def percent_summary(summary: Summary | None) -> str:
    if summary is None:
        return "—"
    sd = f" ± {100 * summary.sd:.1f}" if summary.sd is not None else ""
    return f"{100 * summary.mean:.1f}{sd}{interval_text(summary.interval)}"


def interval_text(interval: tuple[float, float] | None) -> str:
    """' [74.0–78.8]': a 95% interval of a share, in percent."""
    return "" if interval is None else f" [{100 * interval[0]:.1f}–{100 * interval[1]:.1f}]"


@register.filter
def percent_interval(value: float | None, interval: tuple[float, float] | None) -> str:
    """A share in percent with its 95% interval: '76.4% [74.0–78.8]'."""
    return percent(value) + ("" if value is None else interval_text(interval))


@register.filter
def number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


@register.filter
def summary(value: Summary | None) -> str:
    if value is None:
        return "—"
    return f"{value.mean:.3g}" + (f" ± {value.sd:.2g}" if value.sd is not None else "")


@register.filter
def get(mapping: dict, key: str):
    return mapping.get(key)
