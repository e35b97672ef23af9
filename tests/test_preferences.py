"""Recommend from words: the parse of likes and dislikes, negations that push down (never up), the blend with
a history, and the whole path on the tiny demo with the bundled aligned encoder, checked against the
generator's hidden item attributes."""

from __future__ import annotations

import numpy as np
import pytest

from mmrec_core import preferences as P
from mmrec_core.preferences import Preference, parse_preference

WORDS = ("red", "blue", "hat", "dress", "checks", "dots")


def bag_of_words(texts: list[str]) -> np.ndarray:
    """A text encoder with known answers: one axis per word of :data:`WORDS`."""
    return np.array([[float(w in t.split()) for w in WORDS] for t in texts], np.float32) + 1e-6


# items: one-hot attribute vectors on the same axes
ITEMS = {"red hat": [1, 0, 1, 0, 0, 0], "red checked hat": [1, 0, 1, 0, 1, 0], "blue hat": [0, 1, 1, 0, 0, 0],
         "red dress": [1, 0, 0, 1, 0, 0], "blue dotted dress": [0, 1, 0, 1, 0, 1]}
VECTORS = P.item_space(np.array(list(ITEMS.values()), np.float32))
NAMES = list(ITEMS)


@pytest.mark.parametrize("sentence, liked, disliked", [
    ("I like striped purple handbags, no checks", ("striped purple handbags",), ("checks",)),
    ("loves red, stripes; likes sneakers; dislikes handbags, hats", ("red", "stripes", "sneakers"), ("handbags", "hats")),
    ("no checks, dots or stripes but I love hats", ("hats",), ("checks", "dots", "stripes")),
    ("Dresses without dots!", ("dresses",), ("dots",)),
    ("I don't like sunglasses. Show me a red dress", ("red dress",), ("sunglasses",)),
    ("avoid green & yellow", (), ("green", "yellow")),
    ("", (), ()),
    ("no", (), ()),
])
def test_the_parse_splits_likes_from_dislikes(sentence, liked, disliked):
    assert parse_preference(sentence) == Preference(liked, disliked)


def test_a_negation_pushes_what_it_names_down_never_up():
    query = P.query_vectors([parse_preference("red hats, no checks")], bag_of_words)[0]
    scores = dict(zip(NAMES, VECTORS @ query, strict=True))
    assert scores["red checked hat"] < scores["red hat"], "the checked hat goes below the plain one"
    plain = P.query_vectors([parse_preference("red hats")], bag_of_words)[0]
    assert scores["red checked hat"] < float(VECTORS[NAMES.index("red checked hat")] @ plain), (
        "saying 'no checks' lowers the checked hat against not saying it")
    top, _ = P.rank(query, VECTORS, 2)
    assert [NAMES[i] for i in top] == ["red hat", "red checked hat"] or NAMES[top[0]] == "red hat"
    read_literally = P.query_vectors([Preference(("red hats", "checks"), ())], bag_of_words)[0]
    assert float(VECTORS[1] @ read_literally) > float(VECTORS[0] @ read_literally), (
        "the control: embedding the dislike as a like would have pulled checks up")


def test_query_vectors_are_the_liked_direction_minus_half_the_disliked():
    q = P.query_vectors([Preference(("red",), ("blue",)), Preference((), ())], bag_of_words)
    red, blue = np.eye(6, dtype=np.float32)[0], np.eye(6, dtype=np.float32)[1]
    np.testing.assert_allclose(q[0], red - P.NEGATIVE_WEIGHT * blue, atol=1e-4)
    assert not q[1].any(), "an empty preference is a zero row"
    with pytest.raises(ValueError, match="no words to go on"):
        P.query_vectors([Preference((), ())], bag_of_words)


def test_blend_goes_from_the_words_to_the_history():
    words, profile = np.array([1.0, 0.0], np.float32), np.array([0.0, 3.0], np.float32)
    np.testing.assert_allclose(P.blend(words, profile, 0.0), words)
    np.testing.assert_allclose(P.blend(words, profile, 1.0), [0.0, 1.0])
    np.testing.assert_allclose(P.blend(words, profile, 0.25), [0.75, 0.25])
    np.testing.assert_allclose(P.blend(words, np.zeros(2), 0.5), words), "no liked item: the words alone"
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        P.blend(words, profile, 1.5)


def test_taste_profiles_are_the_unit_mean_of_each_users_liked_items():
    items = P.item_space(np.array([[1, 0], [0, 1], [1, 1]], np.float32))
    profiles = P.taste_profiles(items, users=np.array([0, 0, 2]), liked=np.array([0, 1, 2]), n_users=3)
    np.testing.assert_allclose(profiles[0], [2 ** -0.5, 2 ** -0.5], atol=1e-6)
    np.testing.assert_allclose(profiles[1], [0, 0]), "a user who liked nothing has no taste"
    np.testing.assert_allclose(profiles[2], items[2], atol=1e-6)


def test_users_by_taste_are_the_nearest_profiles_and_never_the_empty_ones():
    profiles = np.array([[1, 0], [0, 1], [0, 0], [2 ** -0.5, 2 ** -0.5], [0, 1]], np.float32)
    users, scores = P.users_by_taste(np.array([0.0, 3.0]), profiles, np.arange(5), limit=3)
    assert users.tolist() == [1, 4, 3], "best first; the tie of users 1 and 4 by index"
    np.testing.assert_allclose(scores, [1, 1, 2 ** -0.5], atol=1e-6)
    users, _ = P.users_by_taste(np.array([1.0, 0.0]), profiles, np.array([4, 2, 0]), limit=10)
    assert users.tolist() == [0, 4], "only the candidates; the one with no liked item is left out"


def test_rank_leaves_out_excluded_items_and_breaks_ties_by_index():
    top, scores = P.rank(np.array([1, 0, 0, 0, 0, 0], np.float32), VECTORS, 5, exclude=np.array([0]))
    assert 0 not in top and len(top) == 4
    assert list(top[:2]) == [3, 1], "red dress (cos .71) before the red checked hat (.58)"
    assert np.all(np.diff(scores) <= 0)


@pytest.fixture(scope="module")
def tiny_aligned():
    from mmrec_core.config import DataConfig, EmbedConfig
    from mmrec_core.data.sources import load_dataset
    from mmrec_core.embeddings import embed_items

    ds = load_dataset(DataConfig(demo_size="tiny"))
    config = EmbedConfig(encoder="bundled-aligned")
    return ds, embed_items(ds, config), config


@pytest.mark.parametrize("sentence, kind", [("sunglasses", "sunglasses"), ("red dresses", "dress"),
                                             ("I love hats", "hat")])
def test_words_find_the_products_they_name_on_the_demo(tiny_aligned, sentence, kind):
    ds, emb, config = tiny_aligned
    found = P.recommend_from_words(ds, emb, config, sentence, k=4)
    attrs = ds.truth.item_attributes.set_index("item_id").loc[ds.items["item_id"].iloc[found.items]]
    assert (attrs["kind"] == kind).all(), attrs


@pytest.mark.parametrize("liked, disliked, pattern", [("dresses", "no dots", "dots"),
                                                      ("I love hats", "but not checks", "checks"),
                                                      ("t-shirts", "without stripes", "stripes")])
def test_a_negation_pushes_the_pattern_it_names_down_on_the_demo(tiny_aligned, liked, disliked, pattern):
    ds, emb, config = tiny_aligned
    attrs = ds.truth.item_attributes.set_index("item_id").loc[ds.items["item_id"]]
    named = np.flatnonzero((attrs["pattern"] == pattern).to_numpy())
    n = len(ds.items)

    def mean_position(sentence: str) -> float:
        order = P.recommend_from_words(ds, emb, config, sentence, k=n).items
        return float(np.mean(np.flatnonzero(np.isin(order, named))))

    assert mean_position(f"{liked}, {disliked}") > mean_position(liked), f"{pattern} went down"
    assert mean_position(f"{liked} {pattern}") < mean_position(liked), f"the control: naming {pattern} pulls it up"


def test_a_users_history_is_left_out_and_blended_in(tiny_aligned):
    ds, emb, config = tiny_aligned
    user = ds.reviews["user_id"].iloc[0]
    mine = set(ds.reviews.loc[ds.reviews["user_id"] == user, "item_id"])
    found = P.recommend_from_words(ds, emb, config, "hats", k=20, user_id=user, history_weight=0.5)
    assert not mine & set(ds.items["item_id"].iloc[found.items]), "nothing the user reviewed"
    assert found.history_items > 0
    with pytest.raises(ValueError, match="no reviews by user"):
        P.recommend_from_words(ds, emb, config, "hats", user_id="nobody")


def test_two_spaces_are_refused_with_what_to_choose():
    from mmrec_core.config import DataConfig, EmbedConfig
    from mmrec_core.data.sources import load_dataset
    from mmrec_core.embeddings import embed_items

    ds = load_dataset(DataConfig(demo_size="tiny"))
    emb = embed_items(ds, EmbedConfig(encoder="classic"))
    with pytest.raises(ValueError, match="bundled-aligned, classic-aligned or clip"):
        P.recommend_from_words(ds, emb, EmbedConfig(encoder="classic"), "hats")
