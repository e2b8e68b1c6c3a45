"""`python -m scaling`: run the command line (scaling/cli/__init__.py)."""

import os
import sys

from scaling.cli import main

try:
    code = main()
    sys.stdout.flush()
except BrokenPipeError:
    # The reader went away (`scaling audit | head -1`): no traceback. Python's own advice (signal docs,
    # "Note on SIGPIPE"): point stdout at devnull so the interpreter's final flush does not fail again.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    code = 1
raise SystemExit(code)
