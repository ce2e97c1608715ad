"""Started by `heapline run` as `python .../heapline/_launch.py TARGET...`, where
TARGET... is the program as python's command line would name it (`prog.py
ARGS` or `-m NAME ARGS`), so that `ps` shows it. A file path, not `-c` or `-m`,
so no frame of the launch itself looks like user code and the current directory
cannot shadow the heapline package."""

if __name__ == "__main__":
    import sys

    del sys.path[0]  # this package's directory; the bootstrap puts the program's first
    try:
        from heapline._bootstrap import main
    except ImportError as e:  # the C core refused this interpreter: one line, not a traceback
        print(f"heapline: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None

    main(target_words=sys.argv[1:])
