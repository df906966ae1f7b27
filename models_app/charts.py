"""The results chart, drawn as inline SVG on the server: no script, no external assets."""

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .selectors import CellResult

ROW_HEIGHT = 26
LABEL_WIDTH = 330
PLOT_WIDTH = 420
VALUE_WIDTH = 150
TOP = 30
BOTTOM = 34


def accuracy_chart(cells: list[CellResult], *, chance: float) -> SafeString:
    """Horizontal bars of mean test accuracy per cell, ± 1 SD whiskers, one dot per seed, and the chance line."""
    if not cells:
        return mark_safe("")
    several_students = len({(c.dataset, c.student, c.settings) for c in cells}) > 1
    height = TOP + ROW_HEIGHT * len(cells) + BOTTOM
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH

    def x(accuracy: float) -> float:
        return LABEL_WIDTH + PLOT_WIDTH * min(max(accuracy, 0.0), 1.0)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="results-chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="chart-title chart-desc">',
        '<title id="chart-title">Test accuracy per method and data variant</title>',
        f'<desc id="chart-desc">Mean accuracy over seeds with ± 1 SD whiskers and one dot per seed; the dashed line '
        f"is chance ({100 * chance:.0f}%).</desc>",
    ]
    for tick in range(0, 101, 20):
        tx = x(tick / 100)
        parts.append(
            f'<line x1="{tx:.1f}" y1="{TOP - 6}" x2="{tx:.1f}" y2="{height - BOTTOM}" class="grid"/>'
            f'<text x="{tx:.1f}" y="{height - BOTTOM + 16}" class="tick">{tick}%</text>'
        )
    for i, cell in enumerate(cells):
        y = TOP + ROW_HEIGHT * i
        mid = y + ROW_HEIGHT / 2
        label = f"{cell.student} · {cell.condition_name}" if several_students else cell.condition_name
        mean, sd = cell.accuracy.mean, cell.accuracy.sd
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{mid + 4:.1f}" class="label">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 5}" width="{x(mean) - LABEL_WIDTH:.1f}" height="{ROW_HEIGHT - 10}" '
            f'class="bar variant-{escape(cell.data_variant)}"><title>{escape(label)}: {100 * mean:.1f}%</title></rect>'
        )
        if sd is not None:
            parts.append(
                f'<line x1="{x(mean - sd):.1f}" y1="{mid:.1f}" x2="{x(mean + sd):.1f}" y2="{mid:.1f}" class="sd"/>'
            )
        for run in cell.runs:
            parts.append(
                f'<circle cx="{x(run.accuracy):.1f}" cy="{mid:.1f}" r="3" class="seed">'
                f"<title>seed {run.run.seed}: {100 * run.accuracy:.1f}%</title></circle>"
            )
        value = (
            f"{100 * mean:.1f}" + (f" ± {100 * sd:.1f}" if sd is not None else "") + f" (n={cell.accuracy.n})"
        )
        parts.append(
            f'<text x="{LABEL_WIDTH + PLOT_WIDTH + 8}" y="{mid + 4:.1f}" class="value">{value}</text>'
        )
    cx = x(chance)
    parts.append(
        f'<line x1="{cx:.1f}" y1="{TOP - 6}" x2="{cx:.1f}" y2="{height - BOTTOM}" class="chance"/>'
        f'<text x="{cx + 4:.1f}" y="{TOP - 10}" class="chance-label">chance</text>'
        f'<text x="{LABEL_WIDTH + PLOT_WIDTH / 2}" y="{height - 4}" class="axis-title">test accuracy</text>'
        "</svg>"
    )
    return mark_safe("".join(parts))  # every interpolated text is escaped above
