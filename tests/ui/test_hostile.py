"""Hostile and damaged input in the dashboard: uploads never choose their path, configs and run files that
are not what they claim become one error box (gone on the next good action), never a traceback."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from test_pages import healthy

from mmrec_core.config import StudyConfig, cache_dir, save_config, to_dict
from mmrec_core.results import runs_dir

GOOD_ROWS = [{"setting": "text", "model": "dot", "seed": 42, "ndcg@10": 0.31, "recall@10": 0.4, "error": None},
             {"setting": "none", "model": "popularity", "seed": 42, "ndcg@10": 0.2, "recall@10": 0.3, "error": None}]


def run_folder(root: Path, name: str, results: object | str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    save_config(StudyConfig(name=name), folder / "config.json")
    text = results if isinstance(results, str) else json.dumps(results)
    (folder / "results.json").write_text(text)
    return folder


def rankers(app):
    at = healthy(app.run())
    return healthy(at.switch_page("pages/rankers.py").run())


def one_error(at, *needles: str) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1, [e.value for e in at.error]
    assert all(n in at.error[0].value for n in needles), at.error[0].value


@pytest.mark.parametrize("name", ["../../../../../../../../tmp/{u}.jsonl", "/tmp/{u}.jsonl"])
def test_an_upload_never_chooses_where_it_is_written(app, name):
    unique = f"mmrec-escape-{uuid.uuid4().hex}"
    target = Path("/tmp") / f"{unique}.jsonl"
    at = app.run()
    at.session_state["w:data-source"] = "upload"
    at.run()
    rows = b'{"user_id": "u1", "asin": "i1", "parent_asin": "i1", "rating": 5.0, "timestamp": 1}\n'
    at.get("file_uploader")[0].upload(name.format(u=unique), rows, "application/json").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not target.exists(), f"the upload was written to {target}"
    stored = list((cache_dir() / "uploads").rglob("*"))
    assert any(p.is_file() and p.name.endswith(".jsonl") and len(p.stem) == 64 for p in stored), stored


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (json.dumps("a config"), "JSON object"),
        ("42", "JSON object"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (json.dumps({"train": {"epochs": "5"}}), "train.epochs"),
        (json.dumps({"fusions": "text"}), "fusions"),
    ],
)
def test_a_bad_config_upload_is_one_error_box_gone_on_the_next_good_file(app, content, needle):
    at = rankers(app)
    at.get("file_uploader")[0].upload("bad.json", content.encode(), "application/json").run()
    one_error(at, needle)
    at.run()
    one_error(at, needle)  # still there on a rerun with the same file, still once
    good = to_dict(StudyConfig(name="ok"))
    at.get("file_uploader")[0].set_value(("good.json", json.dumps(good).encode(), "application/json")).run()
    healthy(at)


def test_a_config_name_that_is_a_path_runs_inside_the_runs_folder(app):
    unique = f"mmrec-escape-{uuid.uuid4().hex}"
    config = {"name": f"/tmp/{unique}/owned", "data": {"demo_size": "tiny"}, "embed": {"encoder": "classic"},
              "fusions": [], "models": ["popularity"], "classifier": None}
    at = rankers(app)
    at.get("file_uploader")[0].upload("c.json", json.dumps(config).encode(), "application/json").run()
    at = healthy(at.button(key="run-config").click().run())
    assert not Path(f"/tmp/{unique}").exists()
    made = [p for p in runs_dir().iterdir() if unique in p.name]
    assert len(made) == 1 and made[0].parent == runs_dir() and "/" not in made[0].name, made


DAMAGED = {
    "rows without setting": ({"rows": [{"model": "dot", "seed": 1, "ndcg@10": 0.3}]}, "setting"),
    "a list where a row belongs": ({"rows": [[1, 2]]}, "rows[0]"),
    "a list where the file's object belongs": ([{"rows": []}], "object"),
    "NaN where rows belong": ('{"rows": NaN}', "rows"),
    "text where a metric belongs": ({"rows": [{**GOOD_ROWS[0], "ndcg@10": "high"}]}, "ndcg@10"),
    "a text seed": ({"rows": [{**GOOD_ROWS[0], "seed": "a"}]}, "seed"),
    "a list where the classifier belongs": ({"rows": GOOD_ROWS, "classifier": [1]}, "classifier"),
    "a number where a modality belongs": ({"rows": GOOD_ROWS, "classifier": {"text": 3}}, "classifier"),
    "text where the accuracy belongs": ({"rows": GOOD_ROWS, "classifier": {"text": {"accuracy": "x"}}}, "accuracy"),
    "histories without a slash": ({"rows": GOOD_ROWS, "histories": {"dot": []}}, "histories"),
    "a number where histories belong": ({"rows": GOOD_ROWS, "histories": 5}, "histories"),
    "a list where timings belong": ({"rows": GOOD_ROWS, "timings": [1]}, "timings"),
    "a number where the protocol belongs": ({"rows": GOOD_ROWS, "protocol": 5}, "protocol"),
    "nested too deeply": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "not JSON": ("{rows: ", "not valid JSON"),
}


def test_damaged_results_files_are_one_error_box_that_does_not_stick(app, tmp_path):
    good = run_folder(tmp_path, "good", {"rows": GOOD_ROWS, "classifier": {"text": {"accuracy": 0.5}}})
    at = rankers(app)
    for i, (what, (payload, needle)) in enumerate(DAMAGED.items()):
        folder = run_folder(tmp_path, f"bad{i}", payload)
        at.text_input(key="w:run-path").set_value(str(folder)).run()
        at = at.button(key="open-run").click().run()
        assert not at.exception, (what, [e.value for e in at.exception])
        assert len(at.error) == 1 and needle in at.error[0].value, (what, [e.value for e in at.error])
        assert "\n" not in at.error[0].value.split("\n\nWhat to do")[0], what  # one line, then the hint
        at.text_input(key="w:run-path").set_value(str(good)).run()
        at = healthy(at.button(key="open-run").click().run())  # the next good action clears it
        healthy(at.switch_page("pages/data.py").run())
        at = healthy(at.switch_page("pages/rankers.py").run())


def test_a_saved_run_that_cannot_be_drawn_is_dropped_with_one_error(app, tmp_path):
    from mmrec_core.results import StudyResult

    at = rankers(app)
    broken = StudyResult(config=StudyConfig(name="broken"))
    broken.classifier = {"text": 5}  # got past reading somehow (an older version, a bug)
    at.session_state["saved_run"] = {"result": broken, "source": "somewhere"}
    at = at.run()
    one_error(at, "TypeError")
    at = at.run()
    assert not at.exception and at.session_state["saved_run"] is None  # dropped: no crash on every rerun
    good = run_folder(tmp_path, "good", {"rows": GOOD_ROWS})
    at.text_input(key="w:run-path").set_value(str(good)).run()
    healthy(at.button(key="open-run").click().run())


def test_a_damaged_reviews_file_loads_what_it_can_and_says_so_on_the_load_report(app, tmp_path):
    import gzip

    reviews = [{"rating": 5.0, "parent_asin": f"P{i % 5}", "user_id": f"u{i % 40}", "timestamp": 1_600_000_000_000 + i,
                "text": f"review {i} " + "w" * (i % 50)} for i in range(3000)]
    lines = "".join(json.dumps(r) + "\n" for r in reviews) + '{"rating": "five"}\n'
    (tmp_path / "reviews.jsonl.gz").write_bytes(gzip.compress(lines.encode())[:-100])
    (tmp_path / "meta.jsonl").write_text("".join(json.dumps({"parent_asin": f"P{i}", "title": f"item {i}"}) + "\n"
                                                 for i in range(5)))
    at = healthy(app.run())
    at.button_group(key="w:data-source").set_value("local").run()
    at.text_input(key="w:local-reviews").input(str(tmp_path / "reviews.jsonl.gz")).run()
    at.text_input(key="w:local-meta").input(str(tmp_path / "meta.jsonl")).run()
    at = healthy(at.button(key="load-data").click().run())
    warnings = [w.value for w in at.warning if "damaged after line" in w.value]
    assert len(warnings) == 1 and "reviews.jsonl.gz" in warnings[0] and "kept what was read" in warnings[0]


def test_a_malformed_meta_line_alone_is_on_the_load_report_with_its_line_number(app, tmp_path):
    reviews = [{"rating": 4.0, "parent_asin": f"P{i % 3}", "user_id": f"u{i % 10}", "timestamp": 1_600_000_000_000 + i,
                "text": f"review {i}"} for i in range(60)]
    (tmp_path / "reviews.jsonl").write_text("".join(json.dumps(r) + "\n" for r in reviews))
    meta = [json.dumps({"parent_asin": f"P{i}", "title": f"item {i}", "images": [{"large": f"pics/P{i}.jpg"}]})
            for i in range(3)]
    # line 2 describes a reviewed product and is cut short; line 4 is a product nobody reviewed (never parsed)
    cut = '{"parent_asin": "P1", "title": '
    (tmp_path / "meta.jsonl").write_text("\n".join([meta[0], cut, meta[2], cut.replace("P1", "P9")]) + "\n")
    at = healthy(app.run())
    at.button_group(key="w:data-source").set_value("local").run()
    at.text_input(key="w:local-reviews").input(str(tmp_path / "reviews.jsonl")).run()
    at.text_input(key="w:local-meta").input(str(tmp_path / "meta.jsonl")).run()
    at = healthy(at.button(key="load-data").click().run())
    assert [w.value for w in at.warning if "malformed meta line" in w.value] == [
        "1 malformed meta line skipped: those products load without a title or picture unless another line "
        "describes them."]
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Malformed meta lines (first 1): 2. Why: not JSON: 1") for c in captions), captions
    assert any(c.startswith("1 meta line read only as far as the product id") for c in captions), captions
    assert not any("Nothing skipped" in s.value for s in at.success)
