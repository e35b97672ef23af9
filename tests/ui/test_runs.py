"""The Rankers page opens a run the CLI wrote (same StudyConfig, same StudyResult files)."""

from __future__ import annotations

from test_pages import chart, healthy

from mmrec_core.config import ClassifierConfig, DataConfig, EmbedConfig, StudyConfig, TrainConfig
from mmrec_core.results import runs_dir
from mmrec_core.study import run_study


def test_a_cli_run_opens_in_the_rankers_page(app):
    config = StudyConfig(
        name="from-the-cli", data=DataConfig(demo_size="tiny"), embed=EmbedConfig(encoder="classic"),
        fusions=("text", "image"), models=("popularity", "dot"), train=TrainConfig(epochs=1),
        classifier=ClassifierConfig(epochs=1, modalities=("text",)),
    )  # fmt: skip
    folder = runs_dir() / "from-the-cli"
    written = run_study(config, out_dir=folder)

    at = healthy(app.run())
    healthy(at.switch_page("pages/rankers.py").run())
    at.text_input(key="w:run-path").set_value(str(folder)).run()
    at = healthy(at.button(key="open-run").click().run())

    assert any("from-the-cli" in md.value for md in at.markdown)
    shown = [d.value for d in at.dataframe if "model" in d.value.columns and "item content" in d.value.columns][-1]
    assert set(shown["model"]) == set(written.results["model"])  # popularity, dot and the demo's oracle
    bars = chart(at, "saved-bar")
    assert {t["type"] for t in bars["data"]} == {"bar"}
    clf = [t.value for t in at.table if "modality" in t.value.columns][-1]
    assert list(clf["modality"]) == ["text"]


def test_a_folder_without_results_says_what_to_pick(app, tmp_path):
    at = healthy(app.run())
    healthy(at.switch_page("pages/rankers.py").run())
    at.text_input(key="w:run-path").set_value(str(tmp_path)).run()
    at = at.button(key="open-run").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "results.json" in at.error[0].value
    # the box is the Saved runs section's own, drawn under its heading, not the page's box far above
    heading = next(i for i, el in enumerate(at.main) if getattr(el, "value", None) == "Saved runs")
    assert [i for i, el in enumerate(at.main) if el in at.error] > [heading]


def test_a_good_run_clears_the_saved_runs_failure(app, tmp_path):
    config = StudyConfig(name="good", data=DataConfig(demo_size="tiny"), embed=EmbedConfig(encoder="classic"),
                         fusions=("text",), models=("popularity",), classifier=None, selection=None)
    folder = runs_dir() / "good"
    run_study(config, out_dir=folder)
    at = healthy(app.run())
    healthy(at.switch_page("pages/rankers.py").run())
    at.text_input(key="w:run-path").set_value(str(tmp_path)).run()
    at = at.button(key="open-run").click().run()
    assert len(at.error) == 1
    at.text_input(key="w:run-path").set_value(str(folder)).run()
    at = healthy(at.button(key="open-run").click().run())
    assert any("good" in md.value for md in at.markdown)


def test_training_the_same_config_again_returns_the_stored_run(app):
    from test_pages import trained

    at = trained(app, epochs=1)
    first = at.session_state["ranking_run"]["result"]
    at = healthy(at.button(key="train-rankers").click().run())
    assert at.session_state["ranking_run"]["result"] is first  # memoised, not retrained
    at.number_input(key="w:epochs").set_value(2).run()
    at = healthy(at.button(key="train-rankers").click().run())
    assert at.session_state["ranking_run"]["result"] is not first  # a new config trains anew
