"""The comparison of two profiles (`heapline diff BEFORE AFTER`): lines and
functions matched across edits, and the change of each one's time, bytes
allocated and bytes held at the peak, and of the whole run's figures.

A line is matched by its file, its function and its source text, not by its
number: a line that moved (code added above it) keeps its history. Lines whose
text changed are paired, within their function, with the most similar
unmatched line of the other run (an edited line: `x = f(2)` became
`x = f(4)`); what is left is new or gone."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from heapline.model import (cpu_seconds, file_names, function_at, total_alloc, total_cpu)

#: How alike two lines' texts must be (difflib's ratio) to pair them as one
#: edited line.
EDIT_SIMILARITY = 0.6

Record = Mapping[str, Any]


@dataclass
class Figures:
    """What is compared for a line or a function of one run."""

    time_s: float = 0.0
    alloc_bytes: int = 0
    peak_bytes: int = 0

    @classmethod
    def of(cls, data: Record | None) -> Figures:
        if data is None:
            return cls()
        return cls(cpu_seconds(data), int(data.get("alloc_bytes", 0)),
                   int(data.get("peak_bytes", 0)))


@dataclass
class Change:
    """A line or a function in either run or both. ``status`` is "same"
    (matched by text), "moved" (matched by text, at another line number),
    "edited" (paired by similarity), "new" (after only) or "gone" (before only)."""

    file: str  # the file's display name (the after run's, when in both)
    function: str
    source: str
    before_line: int | None
    after_line: int | None
    before: Figures
    after: Figures
    status: str
    before_source: str = ""
    file_key: str = ""  # the same for a file in both runs (see _file_keys)

    @property
    def line(self) -> int:
        return self.after_line if self.after_line is not None else (self.before_line or 0)

    @property
    def d_time(self) -> float:
        return self.after.time_s - self.before.time_s

    @property
    def d_alloc(self) -> int:
        return self.after.alloc_bytes - self.before.alloc_bytes

    @property
    def d_peak(self) -> int:
        return self.after.peak_bytes - self.before.peak_bytes


@dataclass
class RunTotals:
    elapsed_s: float
    cpu_s: float
    peak_bytes: int
    peak_at_s: float
    exit_bytes: int
    alloc_bytes: int
    peak_where: str


@dataclass
class Comparison:
    before_doc: dict[str, Any]
    after_doc: dict[str, Any]
    before_name: str
    after_name: str
    before: RunTotals
    after: RunTotals
    lines: list[Change] = field(default_factory=list)
    functions: list[Change] = field(default_factory=list)

    def score(self, c: Change) -> float:
        """How large a change is, for ranking: the largest of its time, bytes
        and at-peak changes, each as a share of that figure's total in the
        larger of the two runs."""
        t = max(self.before.cpu_s, self.after.cpu_s)
        a = max(self.before.alloc_bytes, self.after.alloc_bytes)
        p = max(self.before.peak_bytes, self.after.peak_bytes)
        return max(abs(c.d_time) / t if t > 0 else 0.0,
                   abs(c.d_alloc) / a if a > 0 else 0.0,
                   abs(c.d_peak) / p if p > 0 else 0.0)

    def ranked(self, changes: list[Change]) -> list[Change]:
        return sorted(changes, key=lambda c: (-self.score(c), c.file, c.line))

    def growth_pct(self) -> dict[str, float | None]:
        """Percent growth of the peak footprint and of the total allocation
        (None when the before run had none and the after run has some)."""
        def pct(b: float, a: float) -> float | None:
            if b > 0:
                return 100.0 * (a - b) / b
            return 0.0 if a <= 0 else None
        return {"peak": pct(self.before.peak_bytes, self.after.peak_bytes),
                "alloc": pct(self.before.alloc_bytes, self.after.alloc_bytes)}


def _totals(doc: Mapping[str, Any], names: Mapping[str, str]) -> RunTotals:
    mem = doc["memory"]
    where = "unknown line"
    if mem.get("peak_file") is not None:
        where = names.get(str(mem["peak_file"]), str(mem["peak_file"]))
        if mem.get("peak_line") is not None:
            where += f":{mem['peak_line']}"
    return RunTotals(float(doc["elapsed_s"]), total_cpu(doc), int(mem["peak_bytes"]),
                     float(mem["peak_at_s"]), int(mem["exit_bytes"]), total_alloc(doc), where)


def _file_keys(before: dict[str, Any], after: dict[str, Any], before_names: Mapping[str, str],
               after_names: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """A key for each file of each run, the same for a file in both: the same
    path, else the same display name, else the same base name (when only one
    file of each run has it)."""
    a_paths = [str(f["path"]) for f in after["files"]]
    b_paths = [str(f["path"]) for f in before["files"]]
    a_key = {p: p for p in a_paths}
    b_key: dict[str, str] = {}
    by_name = {after_names.get(p, p): p for p in a_paths}
    base_a: dict[str, list[str]] = {}
    for p in a_paths:
        base_a.setdefault(os.path.basename(p), []).append(p)
    base_b: dict[str, list[str]] = {}
    for p in b_paths:
        base_b.setdefault(os.path.basename(p), []).append(p)
    taken: set[str] = set()
    for p in b_paths:
        if p in a_key:
            b_key[p] = p
        elif before_names.get(p, p) in by_name and by_name[before_names.get(p, p)] not in b_paths:
            b_key[p] = by_name[before_names.get(p, p)]
        elif len(base_a.get(os.path.basename(p), [])) == 1 and len(
                base_b[os.path.basename(p)]) == 1 and base_a[os.path.basename(p)][0] not in b_paths:
            b_key[p] = base_a[os.path.basename(p)][0]
        else:
            b_key[p] = "\0before\0" + p  # in the before run only
        if b_key[p] in taken:  # two before files for one after file: keep them apart
            b_key[p] = "\0before\0" + p
        taken.add(b_key[p])
    return b_key, a_key


def _norm(text: str) -> str:
    return " ".join(text.split())


@dataclass
class _Line:
    key: str  # file key
    function: str
    text: str
    number: int
    data: Record
    peak_of_function: str = ""


def _lines(doc: Mapping[str, Any], keys: Mapping[str, str]) -> list[_Line]:
    out = []
    for f in doc["files"]:
        functions = list(f.get("functions", []))
        for ln in f["lines"]:
            fn = function_at(functions, int(ln["line"]))
            name = str(fn["name"]) if fn else "<module>"
            out.append(_Line(keys[str(f["path"])], name, str(ln.get("source", "")),
                             int(ln["line"]), ln))
    return out


def _match(before: list[_Line], after: list[_Line]) -> list[tuple[_Line | None, _Line | None,
                                                                   str]]:
    pairs: list[tuple[_Line | None, _Line | None, str]] = []

    def exact_key(x: _Line, nth: int) -> tuple[str, str, str, int]:
        # a line with no source text (file unreadable) is known by its number only
        return (x.key, x.function, _norm(x.text), nth if x.text.strip() else -x.number)

    def keyed(lines: list[_Line]) -> dict[tuple[str, str, str, int], _Line]:
        seen: dict[tuple[str, str, str], int] = {}
        out = {}
        for x in sorted(lines, key=lambda x: x.number):
            k = (x.key, x.function, _norm(x.text))
            seen[k] = seen.get(k, 0) + 1
            out[exact_key(x, seen[k])] = x
        return out

    b_keyed, a_keyed = keyed(before), keyed(after)
    for k, a in a_keyed.items():
        b = b_keyed.pop(k, None)
        if b is not None:
            pairs.append((b, a, "same" if b.number == a.number else "moved"))
    matched_after = {id(a) for _, a, _ in pairs}
    rest_a = [a for a in after if id(a) not in matched_after]
    rest_b = list(b_keyed.values())
    # edited lines: within one file and function, the most similar texts
    for a in sorted(rest_a, key=lambda x: x.number):
        best, best_ratio = None, EDIT_SIMILARITY
        for b in rest_b:
            if b.key != a.key or b.function != a.function:
                continue
            ratio = difflib.SequenceMatcher(None, _norm(b.text), _norm(a.text)).ratio()
            if ratio >= best_ratio and (best is None or ratio > best_ratio or
                                        abs(b.number - a.number) < abs(best.number - a.number)):
                best, best_ratio = b, ratio
        if best is not None:
            rest_b.remove(best)
            pairs.append((best, a, "edited"))
        else:
            pairs.append((None, a, "new"))
    pairs += [(b, None, "gone") for b in rest_b]
    return pairs


def compare(before: dict[str, Any], after: dict[str, Any], before_name: str = "before",
            after_name: str = "after") -> Comparison:
    """Match the lines and functions of two profile documents."""
    b_names, a_names = file_names(before), file_names(after)
    b_keys, a_keys = _file_keys(before, after, b_names, a_names)
    name_of_key = {b_keys[p]: b_names.get(p, p) for p in b_keys}
    name_of_key.update({a_keys[p]: a_names.get(p, p) for p in a_keys})
    result = Comparison(before, after, before_name, after_name, _totals(before, b_names),
                        _totals(after, a_names))
    for b, a, status in _match(_lines(before, b_keys), _lines(after, a_keys)):
        either = a if a is not None else b
        assert either is not None
        result.lines.append(Change(
            file=name_of_key[either.key], function=either.function,
            source=either.text.strip(), before_line=b.number if b else None,
            after_line=a.number if a else None,
            before=Figures.of(b.data if b else None), after=Figures.of(a.data if a else None),
            status=status, before_source=b.text.strip() if b else "", file_key=either.key))
    result.functions = _functions(result.lines, before, after, b_keys, a_keys, name_of_key)
    return result


def _functions(lines: list[Change], before: Mapping[str, Any], after: Mapping[str, Any],
               b_keys: Mapping[str, str], a_keys: Mapping[str, str],
               name_of_key: Mapping[str, str]) -> list[Change]:
    """Functions matched by file and qualified name; their time and bytes from
    the documents' function totals, their at-peak bytes the sum of their lines'."""
    def index(doc: Mapping[str, Any], keys: Mapping[str, str]) -> dict[tuple[str, str], Record]:
        return {(keys[str(f["path"])], str(fn["name"])): fn
                for f in doc["files"] for fn in f.get("functions", [])}

    b_fns, a_fns = index(before, b_keys), index(after, a_keys)
    peak: dict[tuple[str, str], list[int]] = {}
    for c in lines:
        k = (c.file_key, c.function)
        p = peak.setdefault(k, [0, 0])
        p[0] += c.before.peak_bytes
        p[1] += c.after.peak_bytes
    out = []
    for k in list(a_fns) + [k for k in b_fns if k not in a_fns]:
        b, a = b_fns.get(k), a_fns.get(k)
        either = a if a is not None else b
        assert either is not None
        bf, af = Figures.of(b), Figures.of(a)
        bf.peak_bytes, af.peak_bytes = peak.get(k, [0, 0])
        status = ("new" if b is None else "gone" if a is None else
                  "same" if b.get("first_line") == a.get("first_line") else "moved")
        out.append(Change(
            file=name_of_key.get(k[0], k[0]), function=k[1], source="",
            before_line=int(b["first_line"]) if b else None,
            after_line=int(a["first_line"]) if a else None,
            before=bf, after=af, status=status, file_key=k[0]))
    return out
