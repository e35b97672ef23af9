import pytest

from mmrec_core.paging import clamp_page, page_bounds, page_count, page_label


def test_page_count_edges():
    assert page_count(0, 24) == 1  # an empty list still has a blank page 1
    assert page_count(1, 24) == 1
    assert page_count(48, 24) == 2  # an exact multiple: no empty last page
    assert page_count(49, 24) == 3
    with pytest.raises(ValueError):
        page_count(10, 0)
    with pytest.raises(ValueError):
        page_count(-1, 10)


def test_page_bounds_empty_exact_and_last_partial_page():
    assert page_bounds(1, 0, 10) == (0, 0)
    assert page_bounds(1, 30, 10) == (0, 10)
    assert page_bounds(3, 30, 10) == (20, 30)
    assert page_bounds(3, 25, 10) == (20, 25)  # the last page holds the 5 left over
    # every row appears on exactly one page
    covered = [r for p in range(1, page_count(25, 10) + 1) for r in range(*page_bounds(p, 25, 10))]
    assert covered == list(range(25))


def test_page_numbers_out_of_range_are_clamped():
    assert clamp_page(0, 25, 10) == 1 and clamp_page(-3, 25, 10) == 1
    assert clamp_page(9, 25, 10) == 3  # a search shrank the list under the page the user was on
    assert page_bounds(9, 25, 10) == (20, 25)


def test_page_label_reads_page_i_of_n():
    assert page_label(2, 100, 24) == "page 2 of 5 · rows 25-48 of 100"
    assert page_label(5, 100, 24, noun="items") == "page 5 of 5 · items 97-100 of 100"
    assert page_label(1, 0, 24) == "page 1 of 1 · no rows"
    assert page_label(1, 125_000, 50, noun="users") == "page 1 of 2,500 · users 1-50 of 125,000"
