"""Three-way merge of a stale edit: what the form was drawn from (base), what the person
submitted (mine) and what is stored now (current). Pure: no session, no Flask."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, cast

from merge3 import Merge3, SequenceMatcherProtocol

EDITABLE_FIELDS = ("title", "description", "component", "environment", "due_date")
# A line diff shows at most this much; the rest is counted ("…N more changed lines"). A 50,000-
# character description rewritten would otherwise put 100,000 characters in every drawing of the
# timeline (and its cache) for one edit.
DIFF_MAX_LINES = 200
DIFF_MAX_CHARS = 20_000
DIFF_MAX_LINE_CHARS = 2_000


def form_value(value: object) -> str:
    """A stored field as the edit form shows it: a date as YYYY-MM-DD (what a date input
    submits), nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def fingerprint(value: str | None) -> str:
    """A short digest of a field's value. The edit form carries one per field instead of a
    second copy of a description that may run to 50,000 characters. Line endings are
    normalised: a browser submits a textarea's newlines as CRLF whatever was stored."""
    normalised = (value or "").replace("\r\n", "\n")
    return hashlib.sha256(normalised.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class LineChange:
    """One change to a text's lines, placed in the text after it: `first` counts from 1; a
    removal has no lines left, so `first` is the line it followed (0: the text's start)."""

    kind: Literal["edited", "added", "removed"]
    first: int
    count: int

    def words(self) -> str:
        """In words: "edited line 1", "added lines 4 to 6" (an en dash), "removed 2 lines after line 3"."""
        if self.kind == "removed":
            lines = "a line" if self.count == 1 else f"{self.count} lines"
            return f"removed {lines} " + (f"after line {self.first}" if self.first else "at the start")
        return f"{self.kind} {self.place()}"

    def place(self) -> str:
        """Where, in words: "line 3", "lines 3 to 5" (an en dash); no lines: "after line 2", "at the start"."""
        if self.count == 0:
            return f"after line {self.first - 1}" if self.first > 1 else "at the start"
        if self.count == 1:
            return f"line {self.first}"
        return f"lines {self.first}\u2013{self.first + self.count - 1}"


def in_words(changes: tuple[LineChange, ...], *, limit: int = 3) -> str:
    """Changes in words, "edited line 1 and added line 4"; past `limit`, "... and 2 more changes"."""
    words = [change.words() for change in changes[:limit]]
    if len(changes) > limit:
        rest = len(changes) - limit
        words.append(f"{rest} more change" + ("s" if rest > 1 else ""))
    return _joined(words)


def places(changes: tuple[LineChange, ...], *, limit: int = 3) -> str:
    """Where these changes are, in words: "at line 3", "at lines 3 to 5 and after line 7"."""
    words = [change.place() for change in changes[:limit]]
    words = [word if word.startswith(("after ", "at ")) else f"at {word}" for word in words]
    if len(changes) > limit:
        words.append(f"in {len(changes) - limit} more places")
    return _joined(words)


def _joined(words: list[str]) -> str:
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


@dataclass(frozen=True)
class TextMerge:
    """A multi-line field merged line by line. Where both changed the same lines (`overlaps`,
    placed in `text`), `text` holds mine: the person sees theirs beside it and decides."""

    text: str
    theirs: tuple[LineChange, ...]  # their changes, taken into `text`
    overlaps: tuple[LineChange, ...] = ()


def _lines(text: str) -> list[str]:
    """A text's lines without their line breaks; an empty text has none (not one empty line)."""
    return text.replace("\r\n", "\n").split("\n") if text else []


class _LineMatcher(difflib.SequenceMatcher[str]):
    """difflib's matcher, with the lines both texts start and end with matched first (as GNU diff
    does). On its own, for 200 lines or more it ignores any line that makes up over 1 % of the text
    (blank lines, a "- [ ]" checklist): a one-line edit of such a text would match nothing
    around it, and merge as an overlap of the whole. Trimming is linear; the middle is difflib's."""

    def __init__(
        self,
        isjunk: Callable[[str], bool] | None = None,
        a: Sequence[str] = (),
        b: Sequence[str] = (),
        autojunk: bool = True,
    ) -> None:
        super().__init__(isjunk, a, b, autojunk)
        self.texts = (a, b)

    def get_matching_blocks(self) -> list[difflib.Match]:
        a, b = self.texts
        shorter = min(len(a), len(b))
        head = 0
        while head < shorter and a[head] == b[head]:
            head += 1
        tail = 0
        while tail < shorter - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
            tail += 1
        middle = difflib.SequenceMatcher(None, a[head : len(a) - tail], b[head : len(b) - tail], autojunk=True)
        blocks = [difflib.Match(0, 0, head)]
        blocks += [difflib.Match(i + head, j + head, size) for i, j, size in middle.get_matching_blocks()]
        blocks.append(difflib.Match(len(a) - tail, len(b) - tail, tail))
        joined: list[difflib.Match] = []
        for block in blocks:  # difflib's contract: no empty blocks, adjacent ones joined
            if not block.size:
                continue
            if joined and joined[-1].a + joined[-1].size == block.a and joined[-1].b + joined[-1].size == block.b:
                joined[-1] = difflib.Match(joined[-1].a, joined[-1].b, joined[-1].size + block.size)
            else:
                joined.append(block)
        return [*joined, difflib.Match(len(a), len(b), 0)]


def merge_text(*, base: str, mine: str, current: str) -> TextMerge:
    """Line-based three-way merge (Breezy's merge3, the diff3 algorithm): changes to different
    lines are both kept; changes to the same or neighbouring lines overlap, and keep mine."""
    was, typed, now = _lines(base), _lines(mine), _lines(current)
    # merge3 types its matcher as a Protocol returning plain tuples; difflib's Match is one.
    matcher = cast("type[SequenceMatcherProtocol[str]]", _LineMatcher)
    regions = list(Merge3(was, typed, now, sequence_matcher=matcher).merge_regions())
    merged: list[str] = []
    theirs: list[LineChange] = []
    overlaps: list[LineChange] = []
    base_at = 0  # how far into the base the regions so far reach
    for index, region in enumerate(regions):
        if region[0] == "unchanged":
            _, start, end = region
            merged.extend(was[start:end])
            base_at = end
            continue
        if region[0] == "conflict":
            _, _, base_end, mine_start, mine_end, _, _ = region
            overlaps.append(LineChange("edited", len(merged) + 1, mine_end - mine_start))
            merged.extend(typed[mine_start:mine_end])
            base_at = base_end
            continue
        kind, start, end = region
        # A changed region lies between two unchanged ones (merge3 yields one per gap): the base
        # lines it replaces run up to where the next unchanged region starts.
        base_end = regions[index + 1][1] if index + 1 < len(regions) else len(was)
        if kind == "b":
            base_count, count = base_end - base_at, end - start
            if not base_count:
                theirs.append(LineChange("added", len(merged) + 1, count))
            elif not count:
                theirs.append(LineChange("removed", len(merged), base_count))
            else:
                theirs.append(LineChange("edited", len(merged) + 1, count))
        merged.extend((now if kind == "b" else typed)[start:end])
        base_at = base_end
    return TextMerge(text="\n".join(merged), theirs=tuple(theirs), overlaps=tuple(overlaps))


@dataclass(frozen=True)
class DiffLine:
    sign: Literal["-", "+"]  # removed, added
    text: str


@dataclass(frozen=True)
class Hunk:
    change: LineChange  # placed in the text after the change
    lines: tuple[DiffLine, ...]


@dataclass(frozen=True)
class LineDiff:
    hunks: tuple[Hunk, ...]
    more: int = 0  # changed lines left off past the caps


def line_diff(before: str, after: str) -> LineDiff:
    """The lines removed and added from `before` to `after` (difflib), capped at
    DIFF_MAX_LINES changed lines and DIFF_MAX_CHARS characters, each line at DIFF_MAX_LINE_CHARS."""
    old, new = _lines(before), _lines(after)
    hunks: list[Hunk] = []
    shown = chars = more = 0
    for tag, i1, i2, j1, j2 in _LineMatcher(None, old, new).get_opcodes():
        if tag == "equal":
            continue
        changed = [DiffLine("-", line) for line in old[i1:i2]] + [DiffLine("+", line) for line in new[j1:j2]]
        kept: list[DiffLine] = []
        for line in changed:
            text = line.text if len(line.text) <= DIFF_MAX_LINE_CHARS else line.text[:DIFF_MAX_LINE_CHARS] + "\u2026"
            if shown >= DIFF_MAX_LINES or chars + len(text) > DIFF_MAX_CHARS:
                more += 1
                continue
            kept.append(DiffLine(line.sign, text))
            shown, chars = shown + 1, chars + len(text)
        if kept:
            kind: Literal["edited", "added", "removed"] = (
                "edited" if tag == "replace" else "added" if tag == "insert" else "removed"
            )
            hunks.append(
                Hunk(
                    LineChange(kind, j1 if kind == "removed" else j1 + 1, i2 - i1 if kind == "removed" else j2 - j1),
                    tuple(kept),
                )
            )
    return LineDiff(hunks=tuple(hunks), more=more)


@dataclass
class Merged:
    values: dict[str, str]  # what the form should show now
    theirs: dict[str, str] = field(default_factory=dict)  # both changed: the stored value, to show beside
    lines: dict[str, TextMerge] = field(default_factory=dict)  # both changed, merged line by line


def merge_stale_edit(
    *,
    base: dict[str, str],
    mine: dict[str, str],
    current: dict[str, str],
    base_texts: Mapping[str, str] | None = None,
) -> Merged:
    """Fields this person left alone take the current value; fields they changed keep theirs,
    and where someone else changed the same field differently, that value is returned too.
    A field without a base fingerprint counts as changed by both (nothing is silently lost).
    A field whose base text is known (`base_texts`: the description, from the audit trail) and
    matches the form's fingerprint is merged line by line instead (`lines`)."""
    merged = Merged(values={})
    for name in EDITABLE_FIELDS:
        was, typed, now = base.get(name), mine.get(name, ""), current.get(name, "")
        i_changed = was is None or fingerprint(typed) != was
        they_changed = was is None or fingerprint(now) != was
        if not i_changed:
            merged.values[name] = now
            continue
        merged.values[name] = typed
        if not they_changed or fingerprint(typed) == fingerprint(now):
            continue
        known = (base_texts or {}).get(name)
        if known is not None and fingerprint(known) == was:
            text = merged.lines[name] = merge_text(base=known, mine=typed, current=now)
            merged.values[name] = text.text
        else:
            merged.theirs[name] = now
    return merged
