"""What counts as text a person meant to type: no control characters, no bidi overrides.

Control characters (BEL, ESC, ...) garble terminals, logs and emails; bidi controls make
"invoice\u202egnp.exe" read as "invoiceexe.png" and can make a title look empty. Single-line
fields allow none of them; multi-line fields keep newline, carriage return and tab.

Invisible format characters (zero-width space, byte-order mark, word joiner, Unicode "tag"
letters) make look-alikes of one-line values ("a\u200bdmin" is not "admin", yet reads the same),
so one-line fields refuse them. Multi-line text keeps them (a zero-width space pasted with a log
line hides nothing) except the tag letters U+E0000 to U+E007F: they spell out ASCII nobody sees on the
page but exports, webhooks and mail carry ("ASCII smuggling"). Kept everywhere: the zero-width
joiner and non-joiner, which emoji sequences and scripts such as Persian and Devanagari need, and
tag letters inside an emoji flag sequence (U+1F3F4, tags, U+E007F: the flag of Scotland)."""

from __future__ import annotations

import re
import unicodedata

# Explicit direction marks, embeddings, overrides and isolates (Unicode bidi, "Cf" each).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_BREAKS_AND_TABS = frozenset("\n\r\t")
# Tabs and line breaks pasted into a one-line field (a title copied from a log line or a
# spreadsheet cell), with the spaces around them.
_PASTED_BREAK = re.compile(r"\s*[\t\n\r\v\f\x1c-\x1e\x85\u2028\u2029]\s*")


def one_line(value: str) -> str:
    """A single-line field as meant: each tab or line break (and the spaces around it) becomes
    one space, and the ends are trimmed. Other control characters stay, to be refused."""
    return _PASTED_BREAK.sub(" ", value).strip()


JOINERS = frozenset("\u200c\u200d")  # zero-width non-joiner and joiner
WAVING_BLACK_FLAG = "\U0001f3f4"
CANCEL_TAG = "\U000e007f"
_FLAG_TAG_SEQUENCE = re.compile("\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f")


def _is_tag(char: str) -> bool:
    return "\U000e0000" <= char <= "\U000e007f"


def is_unwanted(char: str, *, multiline: bool = False) -> bool:
    """A control, bidi or line/paragraph-separator character (newline and tab allowed when
    multiline); in one-line values also an invisible format character (not the joiners); in
    multi-line ones also a tag letter. Tag letters of an emoji flag are judged in context, by
    `unwanted_characters`."""
    if multiline and char in LINE_BREAKS_AND_TABS:
        return False
    category = unicodedata.category(char)
    if char in BIDI_CONTROLS or category in ("Cc", "Zl", "Zp"):
        return True
    if multiline:
        return _is_tag(char)
    return category == "Cf" and char not in JOINERS


def _outside_flags(value: str) -> str:
    # A flag's tag letters are part of the emoji; removing the sequence leaves the rest to judge.
    return _FLAG_TAG_SEQUENCE.sub("", value) if CANCEL_TAG in value else value


def unwanted_characters(value: str, *, multiline: bool = False) -> list[str]:
    """The distinct unwanted characters in `value`, in order of first appearance."""
    return list(dict.fromkeys(c for c in _outside_flags(value) if is_unwanted(c, multiline=multiline)))


def without_unwanted(value: str, *, multiline: bool = False) -> str:
    """`value` with every unwanted character removed (an emoji flag's tag letters stay)."""
    if CANCEL_TAG not in value:
        return "".join(c for c in value if not is_unwanted(c, multiline=multiline))
    kept, last = [], 0
    for flag in _FLAG_TAG_SEQUENCE.finditer(value):
        kept.append(without_unwanted(value[last : flag.start()], multiline=multiline))
        kept.append(flag.group())
        last = flag.end()
    kept.append("".join(c for c in value[last:] if not is_unwanted(c, multiline=multiline)))
    return "".join(kept)


def _name(char: str) -> str:
    return f"U+{ord(char):04X}" + (f" {unicodedata.name(char)}" if unicodedata.name(char, "") else "")


def unwanted_message(value: str, what: str, *, multiline: bool = False) -> str | None:
    """A sentence for the field's error, or None when `value` is clean."""
    found = unwanted_characters(value, multiline=multiline)
    if not found:
        return None
    names = ", ".join(_name(c) for c in found[:3]) + (", …" if len(found) > 3 else "")
    kept = " (line breaks and tabs are fine)" if multiline else ""
    problem = f"The {what} contains invisible control, format or text-direction characters ({names}){kept}"
    return problem + "; retype it without them."


def is_number(value: str) -> bool:
    """Digits 0-9 only. `str.isdigit` also says yes to "²" and "①", which `int()` refuses (a
    500 where a person typed a superscript), and to other scripts' digits, which `int()` reads
    as a number nobody meant: every field and header that takes a number asks this instead."""
    return value.isascii() and value.isdigit()
