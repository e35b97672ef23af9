"""``python -m mmrec_core``: see :mod:`mmrec_core.cli`."""

import sys

from mmrec_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
