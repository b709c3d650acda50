"""`python -m prompt_release.operator` is `prompt-release-operator`."""

import sys

from prompt_release.operator.runner import main

sys.exit(main())
