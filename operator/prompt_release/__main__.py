"""`python -m prompt_release` is `kubectl prompt`."""

import sys

from prompt_release.cli import main

sys.exit(main())
