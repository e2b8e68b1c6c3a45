"""`python -m scaling`: run the command line (scaling/cli/__init__.py)."""

from scaling.cli import main

raise SystemExit(main())
