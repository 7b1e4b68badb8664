"""Command line: ``python -m data_sources build|counts``."""

from data_sources.cli import main

raise SystemExit(main())
