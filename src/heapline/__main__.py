"""`python -m heapline ...` is the `heapline` command."""

from heapline.cli import main

raise SystemExit(main())
