"""What the screenshot scripts in docs/ share: their options (``--out``, ``--theme``,
``--size``), and without ``--size`` each of their sizes drawn in a fresh process (a window's
first layout depends on its first size)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path


def parse_shot_args(
    doc: str,
    script: str,
    sizes: Sequence[str],
    more: Callable[[argparse.ArgumentParser], None] | None = None,
) -> tuple[argparse.Namespace, int, int, Path]:
    """The options, the window's width and height and the output folder (made); without
    ``--size``, runs ``script`` once per size with the same options and exits."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", default=str(Path(script).resolve().parent))
    parser.add_argument("--theme", default="light", choices=("light", "dark"))
    parser.add_argument("--size", help="WIDTHxHEIGHT of the window; without it, every size in turn")
    if more is not None:
        more(parser)
    args = parser.parse_args()
    if args.size is None:
        for size in sizes:
            code = subprocess.call([sys.executable, script, *sys.argv[1:], "--size", size])
            if code:
                raise SystemExit(code)
        raise SystemExit(0)
    width, height = (int(x) for x in args.size.lower().split("x"))
    # Each window laid out afresh (its first size decides its docks), whose layout is not
    # saved over the user's own.
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="labbench-shots-config-")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return args, width, height, out
