"""One module per output format of a profile document (terminal: rich), each
reading the document through heapline.model."""
