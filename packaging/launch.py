"""Entry point of the bundle: the same as the ``labbench`` command, and the serial pump's
child process (``labbench.devices.pump``: a bundle has no ``python -m`` to start it with)."""

import sys

from labbench.cli import main

if __name__ == "__main__":
    if sys.argv[1:2] == ["--serial-pump"]:
        from labbench.devices.pump import child_main

        sys.exit(child_main(sys.argv[2:]))
    sys.exit(main())
