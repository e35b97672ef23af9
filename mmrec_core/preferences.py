"""Recommend from words: a stated preference ("striped purple handbags, no checks") as a cold-start user.

A sentence is split into clauses; a clause is *disliked* when a negation word ("no", "not", "without",
"dislike", "hate", "avoid", "except", ...) opens it or an earlier clause of the same part (up to ``;``,
``.``, "but") started a negated list ("dislikes handbags, hats"). The cue words are removed, so a clause is
what it names ("checks"), and each clause is embedded by the encoder's text tower into the space the item
vectors live in (CLIP's, or the catalogue-aligned space of ``bundled-aligned`` / ``classic-aligned``).

Negations: embedding "no checks" as it is puts it next to checks (a text encoder reads the noun, not the
"no"), so it would pull checks *up*. Instead the query is ``unit(mean liked) - NEGATIVE_WEIGHT *
unit(mean disliked)``, scored against unit item vectors: an item's score is its cosine to what is liked
minus half its cosine to what is not, so checks go down. A sentence that only dislikes ranks by "least like
that". The query is linear in the item vector, so it ranks through the exact top-K engine like any factor
model, and blends with a user's history profile (:func:`blend`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmrec_core.encoders.base import l2_normalise

NEGATIVE_WEIGHT = 0.5  # dislikes count half: on the small demo 0.5 gave NDCG@10 0.149, 1.0 0.121, 2.0 0.029 (benchmarks/bench_words.py)
NO_WORDS = "no words to go on: say what you like (e.g. 'striped purple handbags, no checks')"
NEGATIONS = ("don't like", "do not like", "does not like", "doesn't like", "not into", "no more", "dislikes", "dislike", "hates",
             "hate", "avoid", "avoids", "without", "except", "never", "nothing", "none", "not", "no")
LIKING = ("i'd like", "i would like", "i like", "i love", "i want", "looking for", "show me", "loves", "love", "likes",
          "like", "wants", "want", "prefers", "prefer", "adore", "enjoy")  # these end a negated list
FILLERS = ("and", "or", "also", "please", "some", "i", "me", "a", "an", "the", "with", "in")
POSITIVES = LIKING + FILLERS  # longer cues first: "i like" before "i"
_SPLIT_PARTS = re.compile(r"[;.!?\n]|\bbut\b|\bhowever\b", re.IGNORECASE)
_SPLIT_CLAUSES = re.compile(r",|\band\b|\bor\b|&|/|(?=\b(?:without|except|no)\b)", re.IGNORECASE)


def _cue(words: str, cues: Sequence[str]) -> tuple[str | None, str]:
    """The first of ``cues`` that opens ``words`` (as whole words) and the rest, or ``(None, words)``."""
    for cue in cues:
        if words == cue or words.startswith(cue + " "):
            return cue, words[len(cue):].strip()
    return None, words


@dataclass(frozen=True)
class Preference:
    """What a sentence likes and dislikes, as the clauses the encoder reads."""

    liked: tuple[str, ...]
    disliked: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.liked and not self.disliked

    def describe(self) -> str:
        """E.g. ``"likes: striped purple handbags · dislikes: checks"`` (shown under the text box)."""
        parts = [f"{what}: {', '.join(c)}" for what, c in (("likes", self.liked), ("dislikes", self.disliked)) if c]
        return " · ".join(parts) or "nothing to go on"


def parse_preference(sentence: str) -> Preference:
    """Split ``sentence`` into liked and disliked clauses (see the module docstring)."""
    liked: list[str] = []
    disliked: list[str] = []
    for part in _SPLIT_PARTS.split(sentence or ""):
        negated = False  # a negation carries over the commas of its part: "no checks, dots or stripes"
        for raw in _SPLIT_CLAUSES.split(part):
            words = " ".join(re.sub(r"[^\w'\- ]", " ", raw.lower()).split())
            peeled_negation = False
            while True:  # peel cues: "i don't like checks", "and no dots"
                cue, rest = _cue(words, NEGATIONS)
                if cue is not None:
                    negated, peeled_negation, words = True, True, rest
                    continue
                cue, rest = _cue(words, POSITIVES)
                if cue is None:
                    break
                if cue in LIKING and not peeled_negation:
                    negated = False  # "dislikes hats, likes dresses" (but "not like checks" stays negated)
                words = rest
            if words:
                (disliked if negated else liked).append(words)
    return Preference(tuple(liked), tuple(disliked))


TextEncoder = Callable[[list[str]], np.ndarray]
"""Clauses -> ``(n, d)`` vectors in the item vectors' space."""


def query_vectors(preferences: Sequence[Preference], encode: TextEncoder,
                  negative_weight: float = NEGATIVE_WEIGHT) -> np.ndarray:
    """One query vector per preference, ``unit(mean liked) - negative_weight * unit(mean disliked)``;
    every clause of every preference is encoded in one call. An empty preference gives a zero row."""
    clauses = sorted({c for p in preferences for c in (*p.liked, *p.disliked)})
    if not clauses:
        raise ValueError(NO_WORDS)
    vectors = l2_normalise(np.asarray(encode(clauses), dtype=np.float32))
    row = {c: i for i, c in enumerate(clauses)}
    out = np.zeros((len(preferences), vectors.shape[1]), np.float32)
    for n, p in enumerate(preferences):
        if p.liked:
            out[n] += l2_normalise(vectors[[row[c] for c in p.liked]].mean(axis=0, keepdims=True))[0]
        if p.disliked:
            out[n] -= negative_weight * l2_normalise(vectors[[row[c] for c in p.disliked]].mean(axis=0, keepdims=True))[0]
    return out


def blend(query: np.ndarray, profile: np.ndarray | None, history_weight: float) -> np.ndarray:
    """``(1 - w) * query + w * unit(profile)``: words and a user's history (mean of liked item vectors).
    ``history_weight`` 0 is the words alone, 1 the history alone; a zero profile leaves the words."""
    if not 0.0 <= history_weight <= 1.0:
        raise ValueError(f"history weight must be in [0, 1], got {history_weight}")
    query = np.asarray(query, np.float32)
    if profile is None or history_weight == 0.0 or not np.any(profile):
        return query
    return ((1.0 - history_weight) * query + history_weight * l2_normalise(np.asarray(profile, np.float32)[None])[0])


def item_space(features: np.ndarray) -> np.ndarray:
    """Unit item vectors (zero rows stay zero: an item without a vector scores 0 for every sentence)."""
    return l2_normalise(np.asarray(features, np.float32))


def rank(query: np.ndarray, items: np.ndarray, k: int, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best items for one query (``items`` from :func:`item_space`), best first, ties by lower index;
    ``exclude`` (item indices, e.g. a user's train items) never appear."""
    from mmrec_core.topk import stable_top_k

    scores = (np.asarray(items, np.float32) @ np.asarray(query, np.float32))[None]
    if exclude is not None and len(exclude):
        scores[0, np.asarray(exclude, np.int64)] = -np.inf
    top, values = stable_top_k(scores, min(k, items.shape[0]))
    keep = np.isfinite(values[0])
    return top[0][keep], values[0][keep]


NO_SHARED_SPACE = ("recommending from words needs one space for words and pictures: choose bundled-aligned, "
                   "classic-aligned or clip on the Embeddings page")


def text_encoder(emb: Any, config: Any) -> TextEncoder:
    """The text tower of ``emb``'s space: CLIP's text encoder, or an aligned encoder's base text encoder
    followed by its catalogue-fitted tower (``emb.alignment``). ``config`` is the ``EmbedConfig`` that
    computed ``emb``.

    Raises
    ------
    ValueError
        When ``emb`` has no shared text-picture space (a sentence could then be compared with titles only).
    """
    if not emb.shared_space:
        raise ValueError(NO_SHARED_SPACE)
    from mmrec_core.embeddings import embed_texts

    towers = emb.alignment

    def encode(texts: list[str]) -> np.ndarray:
        vectors = embed_texts(texts, config)
        return vectors if towers is None else towers.project_text(vectors)

    return encode


def item_vectors(emb: Any, against: str = "mean") -> np.ndarray:
    """Unit item vectors a sentence is scored against: ``mean`` (Study A's fused vector, the default),
    ``image`` (pictures only; items without one score 0) or ``text`` (titles only)."""
    from mmrec_core.embeddings import fuse

    return item_space(fuse(emb, against).features)


def words_ranker(queries: np.ndarray, items: np.ndarray, name: str = "words") -> Any:
    """A ranker whose user ``u`` is the sentence ``queries[u]``: evaluated and listed like any model."""
    from mmrec_core.models.fixed import FixedScoreRanker

    ranker = FixedScoreRanker.from_factors(queries, items, name=name)
    ranker.label, ranker.description = "From words", "A stated preference, scored in the shared space."
    return ranker


def taste_profiles(items: np.ndarray, users: np.ndarray, liked: np.ndarray, n_users: int) -> np.ndarray:
    """``(n_users, d)`` unit taste vectors: the mean of each user's liked item vectors (``items`` from
    :func:`item_space`; ``users[j]`` liked item ``liked[j]``), zero for a user who liked nothing."""
    from scipy.sparse import csr_matrix

    users, liked = np.asarray(users, np.int64), np.asarray(liked, np.int64)
    likes = csr_matrix((np.ones(len(users), np.float32), (users, liked)), shape=(n_users, len(items)))
    return l2_normalise(np.asarray(likes @ items, np.float32))


def users_by_taste(query: np.ndarray, profiles: np.ndarray, candidates: np.ndarray,
                   limit: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``limit`` of ``candidates`` (rows of ``profiles``) whose taste is nearest ``query`` (cosine of their
    :func:`taste_profiles` row with the unit query), best first, ties by lower user index; and those cosines.
    A user who liked nothing (a zero profile) is never returned."""
    candidates = np.asarray(candidates, np.int64)
    chosen = profiles[candidates]
    scores = chosen @ l2_normalise(np.asarray(query, np.float32)[None])[0]
    keep = np.flatnonzero(np.any(chosen != 0, axis=1))
    order = keep[np.lexsort((candidates[keep], -scores[keep]))][:limit]
    return candidates[order], scores[order]


@dataclass
class WordsResult:
    """What :func:`recommend_from_words` found: the parse, the ranked items and how many history items
    went into the blend (0 without a user)."""

    preference: Preference
    items: np.ndarray  # item row indices (``dataset.items`` order), best first
    scores: np.ndarray
    history_items: int


def recommend_from_words(dataset: Any, emb: Any, config: Any, sentence: str, k: int = 10, *,
                         user_id: str | None = None, history_weight: float = 0.0, against: str = "mean",
                         positive_threshold: float = 4.0) -> WordsResult:
    """The top-``k`` items (rows of ``dataset.items``) for ``sentence``; with ``user_id``, blended with that
    user's liked items (rating >= ``positive_threshold``) by ``history_weight``, and every item the user
    reviewed left out. The dashboard and ``python -m mmrec_core recommend --text`` both call this.

    Raises
    ------
    ValueError
        No shared space (:data:`NO_SHARED_SPACE`), a sentence with no words to go on, an unknown user.
    """
    preference = parse_preference(sentence)
    encode = text_encoder(emb, config)
    if preference.empty:
        raise ValueError(NO_WORDS)
    query = query_vectors([preference], encode)[0]
    items = item_vectors(emb, against)
    exclude, liked = np.zeros(0, np.int64), np.zeros(0, np.int64)
    if user_id is not None:
        reviews = dataset.reviews
        mine = reviews[reviews["user_id"].astype(str) == str(user_id)]
        if mine.empty:
            raise ValueError(f"no reviews by user {user_id!r} in this data set")
        row_of = {item: i for i, item in enumerate(dataset.items["item_id"].astype(str))}
        rated = mine.assign(row=mine["item_id"].astype(str).map(row_of)).dropna(subset=["row"])
        exclude = rated["row"].to_numpy(np.int64)
        liked = rated.loc[rated["rating"] >= positive_threshold, "row"].to_numpy(np.int64)
        if len(liked):
            query = blend(query, items[liked].mean(axis=0), history_weight)
    top, scores = rank(query, items, k, exclude=exclude)
    return WordsResult(preference, top, scores, int(len(liked)) if history_weight > 0 else 0)
