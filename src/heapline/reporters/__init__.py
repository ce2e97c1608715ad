"""One module per output format: terminal (rich), html (the self-contained
page of a profile or of a comparison) and diff (the terminal report of a
comparison). They read documents through heapline.model and comparisons
through heapline.compare."""
