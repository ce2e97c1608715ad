"""Started by `heapline run` as `python .../heapline/_launch.py`: a file path,
not `-c` or `-m`, so no frame of the launch itself looks like user code and the
current directory cannot shadow the heapline package."""

if __name__ == "__main__":
    import sys

    del sys.path[0]  # this package's directory; the bootstrap puts the program's first
    try:
        from heapline._bootstrap import main
    except ImportError as e:  # the C core refused this interpreter: one line, not a traceback
        print(f"heapline: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None

    main()
