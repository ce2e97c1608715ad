"""One module per output format: terminal (rich) and html (the
self-contained page of a profile), each reading the document through
heapline.model."""
