"""`python -m scaling`: run the command line (scaling/cli.py)."""

from scaling.cli import main

raise SystemExit(main())
