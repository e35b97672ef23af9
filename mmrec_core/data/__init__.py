"""Data layer: Amazon Reviews 2023 loaders, the embedded demo catalogue, images, interactions."""

from mmrec_core.data.schema import ITEM_COLUMNS, REVIEW_COLUMNS, Dataset, LoadReport

__all__ = ["Dataset", "LoadReport", "ITEM_COLUMNS", "REVIEW_COLUMNS"]
