"""Server-sent events, reduced to the `data` payloads that OpenAI-compatible servers stream."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def sse_data_iterate(*, lines: Iterable[str]) -> Iterator[str]:
    """The data of each event; multi-line data is joined with newlines, comments and other fields skipped."""
    data: list[str] = []
    for line in lines:
        line = line.rstrip("\r\n")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue  # a comment, often a keep-alive
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)  # a server that closed without the final blank line
