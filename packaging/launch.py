"""Entry point of the bundle: the same as the ``labbench`` command."""

import sys

from labbench.cli import main

if __name__ == "__main__":
    sys.exit(main())
