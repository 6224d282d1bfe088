"""``python -m engine.cli``: the ``despeckle`` command without the console script."""

import sys

from engine.cli import main

sys.exit(main())
