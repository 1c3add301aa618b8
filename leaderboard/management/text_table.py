"""Plain-text tables for the management commands' human output."""

from __future__ import annotations

from collections.abc import Sequence


def text_table(*, rows: Sequence[Sequence[str]], left_column: int) -> str:
    """Columns padded to their widest cell, numbers right-aligned, the `left_column` text left-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(width) if i == left_column else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)
