"""`python -m harness` runs the command line."""

from harness.cli import main

raise SystemExit(main())
