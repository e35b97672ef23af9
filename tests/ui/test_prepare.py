"""Prepare the demo: one press computes the walk in the background; every page then opens on its results."""

from __future__ import annotations

import threading

import pytest
from streamlit.testing.v1 import AppTest

from mmrec_core.config import EmbedConfig
from mmrec_core.progress import cancellable
from mmrec_core.ui import prepare
from tests.ui.test_pages import RANKERS, chart, healthy, results, text_of


def _prepared(at: AppTest) -> AppTest:
    healthy(at.run())
    at.session_state["w:epochs"] = 1  # the Rankers and classifier pages' controls, set before they were opened
    at.session_state["w:clf-epochs"] = 2
    healthy(at.button(key="sidebar-prepare").click().run())
    job = at.session_state["_jobs"]["prepare"]
    job.thread.join(300)
    assert not job.running, "the job ended"
    return healthy(at.run())  # the sidebar's follower takes what it made


def test_prepare_the_demo_trains_the_walk_and_every_page_opens_on_its_results(app, monkeypatch):
    at = _prepared(app)
    assert any("The demo is ready" in s.value for s in at.sidebar.success), [s.value for s in at.sidebar.success]
    assert "prepare" not in at.session_state["_jobs"]
    healthy(at.switch_page("pages/embeddings.py").run())
    assert "Nearest neighbours" in [s.value for s in at.subheader], "the embeddings are there, no button pressed"
    assert chart(at, "catalogue-map")["layout"]["title"]["text"].startswith("Catalogue map (UMAP"), "UMAP, fitted"
    healthy(at.switch_page("pages/rankers.py").run())
    table = results(at)
    assert set(table["model"]) == set(RANKERS), table["model"].tolist()
    assert "Trained by **Prepare the demo**" in text_of(at)
    # the page's own button runs the same config: found at once, nothing trains again
    from mmrec_core.models.neural import TorchRanker

    fitted: list[str] = []
    real_fit = TorchRanker.fit
    monkeypatch.setattr(TorchRanker, "fit", lambda self, *a, **kw: fitted.append(self.name) or real_fit(self, *a, **kw))
    healthy(at.button(key="train-rankers").click().run())
    assert not fitted and "Trained earlier on this server" in text_of(at)
    healthy(at.switch_page("pages/classifier.py").run())
    assert "Classification report" in text_of(at) and "Trained by **Prepare the demo**" in text_of(at)
    healthy(at.switch_page("pages/recommendations.py").run())
    assert "per model" in text_of(at)


def _plan(encoder: str = "classic") -> prepare.Plan:
    from dataclasses import replace

    from mmrec_core.config import SELECTION_BUDGETS, ClassifierConfig, DataConfig, SplitConfig, TrainConfig
    from mmrec_core.ui import classifier_view

    data, embed = DataConfig(source="demo", demo_size="tiny"), EmbedConfig(encoder=encoder)
    return prepare.Plan(data=data, embed=embed, models=("popularity", "bpr-mf", "vbpr"), split=SplitConfig(),
                        train=TrainConfig(), selection=replace(SELECTION_BUDGETS["quick"], max_epochs=2),
                        classifier=classifier_view.study_config(ClassifierConfig(epochs=2), data, embed),
                        map_method="pca")


@pytest.mark.parametrize(("stage", "step"), [("embed", "embedding the products"), ("train", "training the rankers")])
def test_a_stop_keeps_the_steps_that_finished(stage, step):
    stop = threading.Event()

    def progress(event):  # Stop pressed as soon as the step reports its first progress
        if event.stage.startswith(stage):
            stop.set()

    with cancellable(stop):
        outcome = prepare.run(_plan(), prepare.Outcome(_plan()), progress=progress)
    assert outcome.stopped and not outcome.errors
    assert outcome.step == prepare.STEPS.index(step), "it ended in the step it was stopped in"
    assert outcome.summary["items"] == 60, "the data, loaded before the stop, is kept"
    assert outcome.embedded == outcome.mapped == (stage == "train"), "the steps before the stop, and no more"
    assert outcome.classifier is None, "nothing ran after the stop"
    kept = [] if outcome.ranking is None else sorted(set(outcome.ranking[1].results["model"]))
    assert len(kept) < 3, f"only the models that finished before the stop: {kept}"


def test_a_failed_step_is_named_and_the_steps_before_it_are_kept():
    outcome = prepare.run(_plan("clip"), prepare.Outcome(_plan("clip")))  # no CLIP weights here
    assert [step for step, _ in outcome.errors] == ["embedding the products"], outcome.errors
    assert outcome.summary is not None and not outcome.embedded and outcome.ranking is None
    assert not outcome.stopped
