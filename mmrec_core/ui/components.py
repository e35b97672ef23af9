"""Reusable pieces every page draws: picture grids, the load report, error boxes, metric rows."""

from __future__ import annotations

import base64
import html
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from mmrec_core import paging, viz
from mmrec_core.ui import state

log = logging.getLogger("mmrec.ui")
THUMB_PX = 256
STRIP_THUMB_PX = 192  # the pictures inlined in a card strip (cards are 120-200 px wide): a third fewer bytes
CARD_MIN_PX = 120  # a picture card narrower than this wraps to the next row (the grids at 1024 px, on a projector)
MODEL_MIN_PX = 260  # a model's top-K block on the Recommendations page, likewise
# Streamlit styles keyed containers through the class "st-key-<key>": picture grids wrap rather than shrink,
# and a marked card (a held-out hit) has a green border.
CSS = f"""<style>
[class*="st-key-cards-"] [data-testid="stHorizontalBlock"] {{ flex-wrap: wrap; }}
[class*="st-key-cards-"] [data-testid="stColumn"] {{ min-width: {CARD_MIN_PX}px; flex-grow: 0; }}
[class*="st-key-models-"] > div > [data-testid="stHorizontalBlock"] {{ flex-wrap: wrap; }}
[class*="st-key-models-"] > div > [data-testid="stHorizontalBlock"] > [data-testid="stColumn"] {{
  min-width: {MODEL_MIN_PX}px; flex-grow: 0; }}
[class*="st-key-hit-"] {{ border: 2px solid #16a34a !important; }}
</style>"""
PRESENTER_CARD_PX = 170
# the presenter's view: everything one step larger (Streamlit sizes in rem), picture cards wider before they wrap
PRESENTER_CSS = f"""<style>
html {{ font-size: 18px; }}
[class*="st-key-cards-"] [data-testid="stColumn"] {{ min-width: {PRESENTER_CARD_PX}px; }}
[data-testid="stMain"] .mm-card {{ font-size: 0.9rem !important; }}
.mm-strip {{ grid-template-columns: repeat(auto-fill, minmax({PRESENTER_CARD_PX}px, 1fr)) !important; }}
</style>"""


@st.cache_data(show_spinner=False, max_entries=5000)
def thumbnail(ref: str | None, size: int = THUMB_PX) -> tuple[bytes | None, str | None]:
    """A JPEG thumbnail of an item picture and None, or None and the reason it is missing.

    Goes through ``mmrec_core.data.images.load_image`` (guards, disk cache); memoised per reference.
    """
    if not ref:
        return None, "no image"
    try:
        from mmrec_core.data.images import load_image

        result = load_image(ref)
        if not result.ok:
            return None, result.reason
        img = result.image
    except ImportError:  # the images module has not landed: read local files directly
        from PIL import Image

        try:
            img = Image.open(ref).convert("RGB")
        except OSError as exc:
            return None, f"unreadable ({exc.__class__.__name__})"
    img = img.copy()
    img.thumbnail((size, size))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=85)
    return buf.getvalue(), None


def stars(rating: float | None) -> str:
    if rating is None or pd.isna(rating):
        return ""
    r = int(round(float(rating)))
    return "★" * r + "☆" * (5 - r)


def display_title(value: Any) -> str:
    """A product's title for a card: "(no title)" for a product without one (no meta record: NaN, never "nan")."""
    if value is None or (not isinstance(value, str) and pd.isna(value)) or not str(value).strip():
        return "(no title)"
    return str(value)


def plural(n: int, noun: str) -> str:
    """``"1 review"``, ``"2 reviews"``."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


@dataclass(frozen=True)
class CardAction:
    """A button under every card of a grid: card ``i``'s is keyed ``f"{key}-{i}"`` and calls ``on_click(i)``
    (as a callback, before the next run draws the widgets)."""

    label: str
    key: str
    on_click: Callable[[int], None]
    help: str | None = None


def image_grid(
    items: pd.DataFrame, columns: int = 6, caption_cols: Sequence[str] = ("title",), rating_col: str | None = None,
    marks: Sequence[str | None] | None = None, image_col: str = "image_url", title_len: int = 60,
    action: CardAction | None = None,
) -> None:
    """Pictures in a grid with titles, star ratings, an optional mark per card (e.g. a held-out hit) and an
    optional button per card (:class:`CardAction`).

    Missing pictures show a grey card with the reason, never a placeholder picture. A marked card has a green
    border; each card carries its product id (``data-item``, and ``data-part`` from a ``part`` column) for the
    browser test. On a narrow screen the row wraps instead of shrinking cards below :data:`CARD_MIN_PX`.
    """
    if items.empty:
        st.caption("Nothing to show.")
        return
    rows = items.reset_index(drop=True)
    grid = _grid_key()
    # one wrapping row of cards, ``columns`` to a line, each at least CARD_MIN_PX wide (fewer to a line if not)
    st.html(f"<style>.st-key-{grid} [data-testid='stColumn'] {{ flex-basis: calc((100% - {columns - 1}rem) / "
            f"{columns}); }}</style>")
    with st.container(key=grid):
        for i, col in enumerate(st.columns(len(rows))):
            hit = marks is not None and bool(marks[i])
            with col.container(border=True, key=f"hit-{grid}-{i}" if hit else None):
                _card(rows.iloc[i], i, caption_cols, rating_col, marks, image_col, title_len)
                if action is not None:
                    st.button(action.label, key=f"{action.key}-{i}", on_click=action.on_click, args=(i,),
                              help=action.help, width="stretch")


def _grid_key() -> str:
    """``cards-<n>``: the n-th picture grid of this script run (a stable key: the same grids in the same order)."""
    run = st.session_state.get("_run_id", 0)
    last_run, n = st.session_state.get("_grid_seq", (run, 0))
    n = n + 1 if last_run == run else 1
    st.session_state["_grid_seq"] = (run, n)
    return f"cards-{n}"


def _card(row: pd.Series, i: int, caption_cols: Sequence[str], rating_col: str | None,
          marks: Sequence[str | None] | None, image_col: str, title_len: int) -> None:
    data, reason = thumbnail(row.get(image_col))
    if data is not None:
        st.image(data, width="stretch")
    else:
        st.markdown(
            f"<div style='height:120px;background:#f3f4f6;color:#6b7280;display:flex;align-items:center;"
            f"justify-content:center;font-size:0.8rem'>no picture: {html.escape(str(reason))}</div>",
            unsafe_allow_html=True,
        )
    mark = None if marks is None else marks[i] or ""
    st.markdown(_card_text(row, caption_cols, rating_col, mark, title_len, None), unsafe_allow_html=True)


def _card_text(row: pd.Series, caption_cols: Sequence[str], rating_col: str | None, mark: str | None,
               title_len: int, hover: str | None, title_style: str = "") -> str:
    """A card's text as HTML: the title (``data-item`` / ``data-part`` tags, the full title and ``hover`` as its
    tooltip), the captions, the stars and, when ``mark`` is not None, the mark line (empty keeps the height)."""
    title = display_title(row.get("title"))
    tags = "".join(f" data-{name}='{html.escape(str(row[col]))}'"
                   for name, col in (("item", "item_id"), ("part", "part")) if col in row and pd.notna(row[col]))
    tip = html.escape(title if not hover else f"{title}\n{hover}")
    # a fixed three-line title block keeps every card in a row the same height
    lines = [f"<div class='mm-card'{tags} title='{tip}' style='font-size:0.8rem;line-height:1.2;"
             f"height:3.6em;overflow:hidden{title_style}'>{html.escape(_clip_words(title, title_len))}</div>"]
    for c in caption_cols:
        if c != "title" and c in row and pd.notna(row[c]):
            lines.append(f"<div style='font-size:0.75rem;color:#6b7280'>{html.escape(str(row[c]))}</div>")
    if rating_col and rating_col in row and pd.notna(row[rating_col]):
        lines.append(f"<div style='color:#ca8a04'>{stars(row[rating_col])}</div>")
    if mark is not None:
        lines.append(f"<div style='font-size:0.75rem;font-weight:600;color:#15803d;line-height:1.2;"
                     f"min-height:1.3em'>{html.escape(mark)}</div>")
    return "".join(lines)


def card_strip(items: pd.DataFrame, marks: Sequence[str | None] | None = None, hovers: Sequence[str] | None = None,
               image_col: str = "image_url", title_len: int = 48, min_px: int = CARD_MIN_PX,
               caption_cols: Sequence[str] = (), rating_col: str | None = None) -> None:
    """The same cards as :func:`image_grid` (picture or the reason it is missing, title, captions, stars, mark,
    green border on a marked card, ``data-item`` and ``data-part``: :func:`_card_text`), drawn as one HTML block
    with the pictures inline: one element instead of a column, a container, a picture and a caption per card, for the Recommendations page's many model lists
    (what made its page switch the slowest). Cards wrap at ``min_px``; the block is cached by the browser as a
    whole when it comes back unchanged."""
    if items.empty:
        st.caption("Nothing to show.")
        return
    rows = items.reset_index(drop=True)
    cells = []
    for i in range(len(rows)):
        row = rows.iloc[i]
        data, reason = thumbnail(row.get(image_col), STRIP_THUMB_PX)
        if data is not None:
            picture = (f"<img src='data:image/jpeg;base64,{base64.b64encode(data).decode()}' alt='' "
                       "style='width:100%;aspect-ratio:1;object-fit:contain;border-radius:0.25rem'>")
        else:
            picture = ("<div style='aspect-ratio:1;background:#f3f4f6;color:#6b7280;display:flex;align-items:center;"
                       f"justify-content:center;font-size:0.75rem;text-align:center'>no picture: "
                       f"{html.escape(str(reason))}</div>")
        mark = None if marks is None else marks[i] or ""
        border = "2px solid #16a34a" if mark else "1px solid rgba(49,51,63,0.2)"
        text = _card_text(row, caption_cols, rating_col, mark, title_len, None if hovers is None else hovers[i],
                          title_style=";margin-top:0.3rem")
        cells.append(f"<div class='mm-cell{' mm-hit' if mark else ''}' style='border:{border};border-radius:0.5rem;"
                     f"padding:0.5rem'>{picture}{text}</div>")
    st.html(f"<div class='mm-strip' style='display:grid;grid-template-columns:repeat(auto-fill,minmax({min_px}px,1fr));"
            f"gap:0.5rem'>{''.join(cells)}</div>")


def _clip_words(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(" -,·") if " " in text[:limit] else text[:limit]
    return cut + "…"


def pager(n_rows: int, page_size: int, key: str, noun: str = "rows", caption: bool = True) -> tuple[int, int]:
    """A "page i of n" control for a long list; returns the ``(start, stop)`` rows of the chosen page.

    Draws nothing but the label when everything fits on one page. The page is kept in ``key`` (a ``w:`` key
    survives page switches) and moved back into range when the list shrinks (a search, a new selection).
    """
    pages = paging.page_count(n_rows, page_size)
    page = paging.clamp_page(st.session_state.get(key, 1), n_rows, page_size)
    st.session_state[key] = page
    if pages > 1:
        page = int(st.number_input("Page", min_value=1, max_value=pages, step=1, key=key,
                                   help=f"{pages:,} pages of {page_size}"))
    if caption or pages > 1:
        st.caption(paging.page_label(page, n_rows, page_size, noun=noun))
    return paging.page_bounds(page, n_rows, page_size)


def _error_slots() -> dict[str, Any]:
    """Page -> the ``st.empty`` its error box was drawn into during this script run (see ``frame.setup``)."""
    run = st.session_state.get("_run_id")
    held = st.session_state.get("_error_slots")
    if held is None or held[0] != run:
        held = (run, {})
        st.session_state["_error_slots"] = held
    return held[1]


def _draw_error(slot: Any, page: str) -> None:
    err = state.error(page)
    if err:
        message, hint = err
        slot.error(f"**{message}**\n\nWhat to do: {hint}", icon=":material/error:")
    else:
        slot.empty()


def error_box(page: str) -> None:
    """Show the page's last failure (message and what to do) until the next success.

    Drawn once per run: a failure later in the same run replaces this box's text (see :func:`report_failure`),
    so the page never shows a stale failure next to the new one, nor the same failure twice.
    """
    slots = _error_slots()
    if page in slots:
        return
    slots[page] = st.empty()
    _draw_error(slots[page], page)


def clear_failure(page: str) -> None:
    """Forget the page's last failure and empty its box now (a good action after a failure in this run)."""
    state.clear_error(page)
    slots = _error_slots()
    if page in slots:
        _draw_error(slots[page], page)


def report_failure(page: str, exc: BaseException, hint: str) -> None:
    """Log a failure, remember it for the page and show it now; earlier results stay in the session."""
    log.exception("%s failed", page)
    message = f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
    state.set_error(page, message, hint)
    slots = _error_slots()
    if page in slots:
        _draw_error(slots[page], page)
    else:
        error_box(page)


# config fields by the label of the control that sets them (any other field: its last part, in words)
CONTROL_NAMES = {
    "models": "Models", "fusions": "Fusion", "seeds": "Seed", "train.seed": "Seed", "split.seed": "Seed",
    "split.protocol": "Split protocol", "selection.max_epochs": "Max epochs", "train.epochs": "Max epochs",
    "selection": "Model selection", "classifier.epochs": "Max epochs",
    "classifier.patience": "Early-stopping patience", "classifier.class_weight": "Class weights",
    "classifier.modalities": "Modality ablation", "embed.encoder": "Encoder", "embed.fusion": "Fusion",
}


def control_name(path: str) -> str:
    """A config field as the dashboard names it: ``selection.max_epochs`` -> "Max epochs"."""
    return CONTROL_NAMES.get(path) or path.rsplit(".", 1)[-1].replace("_", " ")


def stale_note(shown: Any, current: Any, button: str) -> None:
    """Say so when the results on screen were made with other settings than the controls now show (after
    changing a control, or coming back to a page), and which, so nobody reads them as the new settings'."""
    from mmrec_core.config import differences

    changed = differences(shown, current, names=control_name)
    if changed:
        st.info(f"The results below were made with other settings: {'; '.join(changed)}. Press **{button}** "
                "to run the settings above.", icon=":material/history:")


def metric_row(values: dict[str, Any]) -> None:
    cols = st.columns(len(values))
    for col, (label, value) in zip(cols, values.items(), strict=True):
        col.metric(label, value)


# why a picture is missing, as the fetcher names it -> as a class reads it (other reasons read well as they are)
REASON_WORDS = {"private address": "address on a private network (not fetched)",
                "bad url": "not a picture address", "network down": "network unreachable"}


def load_report(report: Any, missing_images: dict[str, int] | None = None) -> None:
    """The load report: rows read and kept, skipped reviews by reason, items and pictures missing."""
    missing = dict(missing_images if missing_images is not None else getattr(report, "missing_images", {}) or {})
    if getattr(report, "items_without_image", 0) and "no image" not in missing:
        missing["no image"] = report.items_without_image
    missing = {REASON_WORDS.get(reason, reason): n for reason, n in missing.items()}
    metric_row({
        "review lines read": f"{report.review_lines:,}", "reviews kept": f"{report.reviews_kept:,}",
        "meta lines read": f"{report.meta_lines:,}", "items without meta": f"{report.items_without_meta:,}",
        "reading the files": f"{report.seconds:.1f} s",  # the step's box times the whole load, this the parse
    })
    for warning in getattr(report, "warnings", []) or []:
        st.warning(warning, icon=":material/warning:")  # a damaged file: what was kept, what was lost
    skipped = report.skipped()
    bad_meta = int(getattr(report, "malformed_meta", 0) or 0)  # a product line, not a review: not in the bars
    if report.sampled_out_reviews:
        st.caption(f"{report.sampled_out_reviews:,} reviews left out by sampling (not errors).")
    if skipped or any(missing.values()):
        st.plotly_chart(viz.load_report_bars(skipped, missing), key="load-report-bars")
    if bad_meta:
        st.warning(f"{plural(bad_meta, 'malformed meta line')} skipped: those products load without a title "
                   "or picture unless another line describes them.", icon=":material/warning:")
    for what in ("review", "meta"):
        lines = (getattr(report, f"malformed_{what}_lines", None) or [])[:10]
        reasons = getattr(report, f"malformed_{what}_reasons", None) or {}
        if lines:
            why = "; ".join(f"{reason}: {n:,}" for reason, n in reasons.items())
            st.caption(f"Malformed {what} lines (first {len(lines)}): {', '.join(map(str, lines))}"
                       + (f". Why: {why}" if why else ""))
    unread = report.meta_lines - report.meta_kept - bad_meta - report.empty_meta_lines
    if unread > 0:
        st.caption(f"{plural(unread, 'meta line')} read only as far as the product id (products nobody reviewed "
                   "here, or described by an earlier line): a fault further in such a line is not counted.")
    if not (skipped or any(missing.values()) or bad_meta):
        st.success("Nothing skipped, and every item has a picture reference.")
