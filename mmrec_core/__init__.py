"""mmrec: a multimodal recommendation studio (core library; the dashboard lives in app.py and pages/)."""

import logging

__version__ = "0.1.0"

logging.getLogger("mmrec").addHandler(logging.NullHandler())
