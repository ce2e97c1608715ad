"""Profiles a Python process that a profiled program started (a multiprocessing
worker, `subprocess.run([sys.executable, ...])`, ...), before its own code runs.

Imported at start-up by the `heapline-children.pth` line in site-packages,
only when the environment names a run directory (rundir.CHILDREN_ENV): every
Python process of the environment reads that line, so it does nothing else.
The run directory is checked before anything is written (rundir.check), and
nothing is printed: a process that cannot be profiled runs as without
heapline. The program's own process is not one of these: `heapline run`'s
launcher profiles it (the options in its environment say so).
"""

from __future__ import annotations

import os
import sys

from heapline.options import ENV_VAR
from heapline.rundir import CHILDREN_ENV


def start() -> None:
    path = os.environ.get(CHILDREN_ENV)
    if not path or ENV_VAR in os.environ:
        return
    from heapline import rundir
    from heapline.interpreter import refusal

    if refusal():
        return
    try:
        rundir.check(path)
        values = rundir.options(path)
    except rundir.RunDirError:
        return
    try:
        from heapline import _bootstrap
    except ImportError:  # the core refused this interpreter
        return
    from heapline.options import Options

    _bootstrap.hide_from_environ(CHILDREN_ENV)
    opts = Options.from_values(values)
    opts.run_dir = path
    argv = list(getattr(sys, "orig_argv", sys.argv))
    session = _bootstrap.RunSession(opts, argv[0] if argv else "", argv, top=False)
    _bootstrap.install(session)
    if not opts.off:
        session.start()


start()
