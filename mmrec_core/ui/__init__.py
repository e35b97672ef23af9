"""The only Streamlit code in mmrec: session state, cached loaders, controls, components and page views.

Pages import from here; nothing outside this package imports streamlit (``tests/test_layering.py``).
"""

from mmrec_core.ui import (
    classifier_view,
    components,
    controls,
    data_view,
    embed_view,
    loaders,
    rankers_view,
    recs_view,
    runs_view,
    state,
    steps,
)
from mmrec_core.ui.frame import navigation, setup

__all__ = ["classifier_view", "components", "controls", "data_view", "embed_view", "rankers_view", "recs_view", "runs_view", "loaders", "navigation", "setup", "state", "steps"]
