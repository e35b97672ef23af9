"""Study B: 5-class rating prediction from review text and the reviewed item's picture.

:func:`run_classifier` builds the inputs as the study did (rows with an item picture, the first
``max_images`` of them; review text vectors and picture vectors from the study's encoder) and trains
:class:`~mmrec_core.models.classifier.RatingClassifier` once per modality of the ablation:
``text+image`` (concatenated), ``text``, ``image``. Every modality uses the same rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mmrec_core.config import StudyConfig
from mmrec_core.progress import Cancelled, ProgressCallback, Reporter
from mmrec_core.results import describe_error

log = logging.getLogger("mmrec.rating")

MODALITIES = ("text+image", "text", "image")
MIN_ROWS = 20  # below this a stratified 80/20 split leaves a test set of a handful of reviews

EpochHook = Callable[[dict[str, Any]], None]


def classifier_inputs(dataset, config: StudyConfig, emb=None, progress: ProgressCallback | None = None):
    """Study B step 1-2: rows with an item picture (first ``max_images``), review text and picture vectors.

    Picture vectors come from ``emb`` where the item's Study A picture is the same file as its Study B
    picture (``image_url == image_url_hires``) and loaded fine; the others are embedded here. Rows whose
    picture fails to load are dropped too (the study kept only rows with an image).

    Returns ``(text_vectors, image_vectors, ratings, info)``.
    """
    from mmrec_core.embeddings import embed_images_for, embed_texts

    cc = config.classifier
    items = dataset.items.set_index("item_id")
    reviews = dataset.reviews[["item_id", "text", "rating"]]
    hires = reviews["item_id"].map(items["image_url_hires"])
    with_image = hires.notna().to_numpy()
    kept = reviews[with_image].assign(ref=hires[with_image])
    if cc.max_images is not None:
        kept = kept.iloc[: cc.max_images]
    refs = kept["ref"].astype(str).unique()
    vectors: dict[str, np.ndarray] = {}
    if emb is not None:
        row_of = {i: n for n, i in enumerate(emb.item_ids)}
        for item, ref in kept[["item_id", "ref"]].drop_duplicates("ref").itertuples(index=False):
            n = row_of.get(item)
            if n is not None and emb.image_ok[n] and items.at[item, "image_url"] == ref:
                vectors[ref] = emb.image[n]
    todo = [r for r in refs if r not in vectors]
    if todo:
        vecs, ok = embed_images_for(todo, config.embed, config.images, progress=progress)
        vectors.update({r: v for r, v, good in zip(todo, vecs, ok, strict=True) if good})
    loaded = kept["ref"].isin(list(vectors)).to_numpy()
    rows = kept[loaded]
    text = embed_texts(rows["text"].fillna("").astype(str).tolist(), config.embed, progress=progress)
    image = np.stack([vectors[r] for r in rows["ref"]]) if len(rows) else np.zeros((0, 1), np.float32)
    info = {
        "reviews": len(reviews), "without_image": int((~with_image).sum()),
        "capped_at": cc.max_images, "image_failed": int((~loaded).sum()), "rows": len(rows),
        "distinct_images": len(set(rows["ref"])), "images_reused": len(refs) - len(todo),
        "text_dim": int(text.shape[1]) if len(rows) else 0, "image_dim": int(image.shape[1]) if len(rows) else 0,
    }  # fmt: skip
    return text, image, rows["rating"].to_numpy(np.float64), info


def run_classifier(
    config: StudyConfig,
    dataset,
    emb=None,
    progress: ProgressCallback | None = None,
    on_epoch: EpochHook | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Study B for each of ``config.classifier.modalities``: ``({modality: outputs}, info)``.

    Outputs: accuracy, macro_f1, confusion_matrix (labels 1..5), report, history, best_epoch, n_train,
    n_test, y_test, y_pred, seconds; or ``error``.
    """
    from mmrec_core import metrics as M
    from mmrec_core.models.classifier import train_classifier

    cc = config.classifier
    if cc is None:
        return {}, {}
    start = time.perf_counter()
    try:
        text, image, ratings, info = classifier_inputs(dataset, config, emb, progress)
    except Exception as exc:  # noqa: BLE001 - the ranking results are kept
        log.error("classifier inputs failed: %s", describe_error(exc))
        log.debug("traceback", exc_info=True)
        return {m: {"error": describe_error(exc)} for m in cc.modalities}, {"error": describe_error(exc)}
    info["embed_seconds"] = time.perf_counter() - start
    info["validation"] = validation_text(cc)
    if len(ratings) < MIN_ROWS:
        error = too_few_rows(info)
        log.error("classifier: %s", error)
        return {m: {"error": error} for m in cc.modalities}, {**info, "error": error}
    out: dict[str, dict[str, Any]] = {}
    for done, modality in enumerate(cc.modalities):
        start = time.perf_counter()
        try:
            X = {"text+image": lambda: np.hstack([text, image]), "text": lambda: text, "image": lambda: image}[modality]()
            bar = Reporter(progress, f"classifier {modality}", cc.epochs, "epochs")

            def hook(record: dict[str, Any], modality: str = modality, bar: Reporter = bar) -> None:
                bar.update(int(record.get("epoch", 0)), metrics={"val_accuracy": record.get("val_accuracy")})
                if on_epoch is not None:
                    on_epoch({**record, "setting": "classifier", "model": modality})

            run = train_classifier(X, ratings, cc, hook)
            bar.update(cc.epochs)
            out[modality] = {
                "accuracy": M.accuracy(run.y_test, run.y_pred), "macro_f1": M.macro_f1(run.y_test, run.y_pred),
                "confusion_matrix": M.confusion_matrix(run.y_test, run.y_pred).tolist(), "labels": list(M.LABELS_1_5),
                "report": M.classification_report(run.y_test, run.y_pred), "history": run.history,
                "best_epoch": run.best_epoch, "n_train": len(run.train_index), "n_test": len(run.test_index),
                "dim": int(X.shape[1]), "y_test": run.y_test.tolist(), "y_pred": run.y_pred.tolist(),
                "seconds": time.perf_counter() - start,
            }  # fmt: skip
            log.info("classifier %s: accuracy %.4f, macro-F1 %.4f", modality, out[modality]["accuracy"],
                     out[modality]["macro_f1"])
        except Cancelled:  # Stop: the finished modalities are kept, whole
            info["stopped"] = f"stopped by the user after {done} of {len(cc.modalities)} modalities"
            log.warning("classifier %s", info["stopped"])
            break
        except Exception as exc:  # noqa: BLE001 - one modality's failure must not end the study
            log.error("classifier %s failed: %s", modality, describe_error(exc))
            log.debug("traceback", exc_info=True)
            out[modality] = {"error": describe_error(exc)}
    return out, info


def validation_text(cc) -> str:
    """What the classifier's early stopping and learning-rate schedule watch, in words (for every table)."""
    if cc.validation == "test":
        return "selects on test, as the original notebook did (early stopping watches the test split)"
    return f"early stopping watches 10 % of train (stratified, seed {cc.seed}); the test split is read once"


def too_few_rows(info: dict[str, Any]) -> str:
    """One sentence: how many reviews had a loaded picture, and what to do."""
    reviews, rows = int(info.get("reviews", 0)), int(info.get("rows", 0))
    return (
        f"only {rows} of {reviews} reviews have a loaded picture of their item, and the classifier needs at "
        f"least {MIN_ROWS}: load more reviews and meta lines (or a source whose items have pictures), and check "
        "the Load report's missing pictures"
    )
