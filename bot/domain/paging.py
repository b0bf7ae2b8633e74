"""Long listings in chat: fixed-size pages, numbered from 1."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    pages: int
    start: int  # index of the first item on this page
    end: int  # index after the last one

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page_of(total: int, number: int, size: int) -> Page | None:
    """Page ``number`` of ``total`` items; ``None`` if there is no such page.

    An empty listing still has page 1, so "nothing yet" can be said on it.
    """
    pages = max(1, -(-total // size))
    if not 1 <= number <= pages:
        return None
    start = (number - 1) * size
    return Page(number, pages, start, min(total, start + size))
