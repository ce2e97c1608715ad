"""`heapline run`'s command line read without argparse, when it uses only the
spellings that `heapline run --help` shows.

Importing argparse (with re and enum) and building the parser take 6-9 ms,
all of it before the program starts. A command line of whole option names
(`--json FILE`, `--json=FILE`, `-o FILE`, `-oFILE`), flags and a target is read
here instead, into the same attributes argparse would give. Anything else —
an abbreviated or unknown option, --help, a value argparse would refuse, two
options that exclude each other, no target — makes `read` return None, and
heapline.cli reads the line with argparse, which says what is wrong.
tests/test_cli.py checks that both readings agree on every line this one
accepts."""

from __future__ import annotations

from heapline.options import DEFAULT_CPU_INTERVAL, DEFAULT_INTERVAL

#: Options without a value: (attribute, value when given).
FLAGS = {
    "--no-report": ("report", False),
    "--profile-all": ("profile_all", True),
    "--cpu-only": ("cpu_only", True),
    "--memory-only": ("memory_only", True),
    "--off": ("off", True),
    "--wall": ("wall", True),
    "--no-children": ("children", False),
    "--keep-run-dir": ("keep_run_dir", True),
    "--in-process": ("in_process", True),
}

#: Options with a value: the attribute, and its kind ("str", "int": above 0,
#: "float": above 0 and finite).
VALUED = {
    "-o": ("json_path", "str"),
    "--json": ("json_path", "str"),
    "--html": ("html_path", "str"),
    "--profile-only": ("profile_only", "str"),
    "--sampling-interval": ("sampling_interval", "int"),
    "--seed": ("seed", "int"),
    "--cpu-interval": ("cpu_interval", "float"),
}


class RunArgs:
    """What argparse's Namespace would hold for `heapline run`."""

    def __init__(self) -> None:
        self.command = "run"
        self.json_path: str | None = None
        self.html_path: str | None = None
        self.report = True
        self.profile_all = False
        self.profile_only = ""
        self.sampling_interval = DEFAULT_INTERVAL
        self.seed = 0
        self.cpu_only = False
        self.memory_only = False
        self.cpu_interval = DEFAULT_CPU_INTERVAL
        self.off = False
        self.wall = False
        self.children = True
        self.keep_run_dir = False
        self.in_process = False
        self.target: list[str] = []


def _value(kind: str, text: str) -> str | int | float | None:
    """`text` as an option of this kind takes it; None where argparse would
    refuse it (or might read it otherwise: a value that looks like an option)."""
    if text.startswith("-"):
        return None
    if kind == "str":
        return text
    try:
        number = int(text) if kind == "int" else float(text)
    except ValueError:
        return None
    return number if 0 < number < float("inf") else None


def _split(word: str) -> tuple[str, str | None]:
    """An option word as (name, value written in it): `--json=F`, `-oF`."""
    if word.startswith("--"):
        name, eq, value = word.partition("=")
        return name, value if eq else None
    if word.startswith("-o") and len(word) > 2 and word[2] != "=":
        return "-o", word[2:]
    return word, None


def read(words: list[str]) -> RunArgs | None:
    """The arguments of `heapline run WORDS...` (the words after `run`), or
    None when argparse must read them."""
    args = RunArgs()
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--" or word.startswith("-m") or not word.startswith("-") or word == "-":
            if word == "-":  # argparse takes it for the script; leave its message to it
                return None
            # the target and its arguments: all the rest, as python takes them
            # (a `--` before it is kept: options_from_args drops it, as from argparse)
            args.target = words[i:]
            break
        name, value = _split(word)
        if name in FLAGS and value is None:
            attr, flag = FLAGS[name]
            setattr(args, attr, flag)
        elif name in VALUED:
            if value is None:
                i += 1
                if i == len(words):
                    return None
                value = words[i]
            attr, kind = VALUED[name]
            taken = _value(kind, value)
            if taken is None:
                return None
            setattr(args, attr, taken)
        else:
            return None
        i += 1
    if not args.target or args.target == ["--"] or (args.cpu_only and args.memory_only):
        return None
    return args
