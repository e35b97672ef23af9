"""Model selection: early stopping on validation, the coordinate search, and that it never reads the test set."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mmrec_core.config import SelectionConfig, SplitConfig, TrainConfig
from mmrec_core.data.interactions import Interactions, label, ranking_data, split
from mmrec_core.models.registry import default_config
from mmrec_core.selection import Validator, check_metric, explicit_fields, select

FAST = SelectionConfig(max_epochs=8, patience=3, trials=3)


def clustered(seed: int = 0, n_users: int = 80, n_clusters: int = 4, per_cluster: int = 15) -> Interactions:
    """Users like one cluster of items (rated 5) and dislike a few others (rated 1); 20 rows each."""
    rng = np.random.default_rng(seed)
    item_cluster = np.repeat(np.arange(n_clusters), per_cluster)
    users, items, ratings = [], [], []
    for u in range(n_users):
        c = rng.integers(n_clusters)
        liked = rng.choice(np.flatnonzero(item_cluster == c), 14, replace=False)
        disliked = rng.choice(np.flatnonzero(item_cluster != c), 6, replace=False)
        users += [u] * 20
        items += [*liked, *disliked]
        ratings += [5.0] * 14 + [1.0] * 6
    ratings = np.asarray(ratings, np.float32)
    n_items = n_clusters * per_cluster
    return Interactions(
        user_ids=np.array([f"u{u}" for u in range(n_users)]), item_ids=np.array([f"i{i}" for i in range(n_items)]),
        users=np.asarray(users, np.int64), items=np.asarray(items, np.int64), ratings=ratings,
        timestamps=np.arange(len(users), dtype=np.int64), labels=label(ratings),
    )  # fmt: skip


@pytest.fixture(scope="module")
def world():
    inter = clustered()
    parts = split(inter, SplitConfig())
    return inter, parts


def run_select(inter, parts, name="bpr-mf", selection=FAST, **kw):
    fit = ranking_data(inter, parts.for_validation())
    validator = Validator(inter, parts, selection)
    return select(name, default_config(name), fit, validator, selection, **kw)


def test_metric_names():
    assert check_metric("ndcg@10") == 10 and check_metric("recall@20") == 20 and check_metric("auc") is None
    for bad in ("ndcg", "ndcg@0", "f1@10", "NDCG@10"):
        with pytest.raises(ValueError, match="selection metric"):
            check_metric(bad)


def test_early_stopping_restores_the_best_epoch(world):
    inter, parts = world
    chosen = run_select(inter, parts, selection=dataclasses.replace(FAST, trials=1, refit=False, patience=2,
                                                                     max_epochs=20))
    best = chosen.best
    curve = [h["val ndcg@10"] for h in best.history]
    assert best.value == max(curve) and curve[best.best_epoch - 1] == best.value
    assert best.epochs_run <= 20
    model = chosen.final_model(ranking_data(inter, parts), seed=FAST_SEED)
    assert model is best.model
    assert chosen.validator(model)["val ndcg@10"] == pytest.approx(best.value)  # the best weights are back


FAST_SEED = TrainConfig().seed


def test_coordinate_search_spends_the_budget_and_keeps_the_best(world):
    inter, parts = world
    chosen = run_select(inter, parts)
    assert len(chosen.trials) == 3
    first = chosen.trials[0].config
    assert (first.weight_decay, first.lr, first.factors) == (1e-2, 1e-3, 64)  # the model's defaults come first
    assert [t.settings["weight_decay"] for t in chosen.trials] == [1e-2, 3e-2, 1e-3]
    assert chosen.best.value == max(t.value for t in chosen.trials)
    out = chosen.to_dict()
    assert out["settings"]["epochs"] == chosen.best.best_epoch and len(out["trials"]) == 3
    assert out["validation_users"] == chosen.validator.n_users > 0


def test_fields_the_user_set_are_not_searched(world):
    inter, parts = world
    chosen = run_select(inter, parts, explicit={"weight_decay"})
    assert {t.settings.get("weight_decay", 1e-2) for t in chosen.trials} == {1e-2}
    assert [t.config.lr for t in chosen.trials][:2] == [1e-3, 3e-3]


def test_refit_trains_the_chosen_settings_on_all_train_rows(world):
    inter, parts = world
    chosen = run_select(inter, parts)
    full = ranking_data(inter, parts)
    model = chosen.final_model(full, seed=7)
    assert model.config.epochs == chosen.best.best_epoch and model.config.seed == 7
    assert model.config.lr == chosen.best.config.lr and len(model.history) == chosen.best.best_epoch
    assert model._seen.nnz == len(np.unique(inter.users[parts.train] * inter.n_items + inter.items[parts.train]))


def test_selection_never_reads_the_test_rows(world, monkeypatch):
    import mmrec_core.evaluate as evaluate

    inter, parts = world
    seen_rows = []
    real = evaluate.evaluate_ranking

    def spy(model, inter_, split_, *args, **kwargs):
        seen_rows.append(np.concatenate([split_.train, split_.test]))
        return real(model, inter_, split_, *args, **kwargs)

    monkeypatch.setattr(evaluate, "evaluate_ranking", spy)
    run_select(inter, parts)
    assert seen_rows and not any(np.isin(parts.test, rows).any() for rows in seen_rows)


def test_test_labels_that_would_change_the_choice_do_not(world):
    """Flip every test label: a selection that read the test set would choose differently."""
    inter, parts = world
    flipped = dataclasses.replace(inter, labels=inter.labels.copy())
    flipped.labels[parts.test] = 1 - flipped.labels[parts.test]
    a, b = run_select(inter, parts), run_select(flipped, parts)
    assert [t.value for t in a.trials] == [t.value for t in b.trials]
    assert a.settings == b.settings


def test_no_validation_users_is_a_clear_error(world):
    inter, parts = world
    empty = dataclasses.replace(parts, validation=np.zeros(0, np.int64))
    with pytest.raises(ValueError, match="validation"):
        run_select(inter, empty)


def test_validation_users_are_sampled_beyond_the_cap(world):
    inter, parts = world
    capped = Validator(inter, parts, dataclasses.replace(FAST, max_users=10))
    assert capped.n_users == 10
    assert len(np.unique(inter.users[capped.split.test])) == 10
    assert np.isin(capped.split.test, parts.validation).all()


def test_explicit_fields_are_the_searchable_ones_a_config_changes():
    assert explicit_fields(TrainConfig()) == set()
    assert explicit_fields(TrainConfig(lr=5e-3, epochs=7, hidden=64, seed=3)) == {"lr"}  # epochs etc. are not searched
    assert explicit_fields(TrainConfig(weight_decay=0.1, factors=32)) == {"weight_decay", "factors"}
