"""``python -m statefun_faas.cli``: the same as the ``statefun-faas`` command."""

import sys

from statefun_faas.cli import main

sys.exit(main())
