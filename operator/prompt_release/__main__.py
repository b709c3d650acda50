"""`python -m prompt_release` is `kubectl prompt`."""

import sys

from prompt_release.plugin.parser import main

sys.exit(main())
