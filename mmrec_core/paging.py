"""Paging long lists for the dashboard: which rows page ``i`` holds and how to say so.

A catalogue of 100 K items or a table of 125 K users cannot be drawn at once; the dashboard shows one bounded
page and a "page i of n" control. These are pure functions so the edges (nothing to show, an exact multiple
of the page size, a last partial page, a page number out of range) are tested without streamlit.
"""

from __future__ import annotations


def page_count(n_rows: int, page_size: int) -> int:
    """Pages needed for ``n_rows`` rows; at least 1, so an empty list still has a (blank) page 1.

    Raises
    ------
    ValueError
        On a page size below 1 or a negative row count.
    """
    if page_size < 1:
        raise ValueError(f"page size must be at least 1, got {page_size}")
    if n_rows < 0:
        raise ValueError(f"row count must not be negative, got {n_rows}")
    return max(1, -(-n_rows // page_size))


def clamp_page(page: int, n_rows: int, page_size: int) -> int:
    """``page`` (1-based) moved into ``1 .. page_count``: a filter that shrank the list keeps a valid page."""
    return min(max(1, int(page)), page_count(n_rows, page_size))


def page_bounds(page: int, n_rows: int, page_size: int) -> tuple[int, int]:
    """``(start, stop)`` row positions of 1-based ``page`` (clamped); ``(0, 0)`` when there are no rows."""
    page = clamp_page(page, n_rows, page_size)
    start = min((page - 1) * page_size, n_rows)
    return start, min(start + page_size, n_rows)


def page_label(page: int, n_rows: int, page_size: int, noun: str = "rows") -> str:
    """What a pager shows beside its control, e.g. ``"page 2 of 5 · rows 25-48 of 100"`` (1-based rows)."""
    page = clamp_page(page, n_rows, page_size)
    pages = page_count(n_rows, page_size)
    if n_rows == 0:
        return f"page 1 of 1 · no {noun}"
    start, stop = page_bounds(page, n_rows, page_size)
    return f"page {page} of {pages:,} · {noun} {start + 1:,}-{stop:,} of {n_rows:,}"
