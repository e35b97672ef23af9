"""mmrec dashboard: the frame (page config, navigation, shared sidebar). Run with ``make run``."""

from mmrec_core.ui import navigation

navigation()
