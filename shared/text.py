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
tag letters inside an emoji flag sequence (U+1F3F4, tags, U+E007F: the flag of Scotland). A
joiner in a one-line value must sit between two characters it can join (emoji parts, letters of
a joining script): between Latin letters it is one more invisible look-alike ("ad\u200dmin")."""

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
    multi-line ones also a tag letter. Joiners, and the tag letters of an emoji flag, are judged
    in context, by `unwanted_characters`."""
    if multiline and char in LINE_BREAKS_AND_TABS:
        return False
    category = unicodedata.category(char)
    if char in BIDI_CONTROLS or category in ("Cc", "Zl", "Zp"):
        return True
    if multiline:
        return _is_tag(char)
    return category == "Cf" and char not in JOINERS


def _joins(char: str) -> bool:
    """Whether a zero-width joiner or non-joiner beside `char` can be doing its job: an emoji
    part (a symbol, a skin-tone modifier, a variation selector) or a letter or mark of a script
    that joins (Arabic, Persian, Devanagari, ...). Beside Latin letters, digits, spaces and
    punctuation it does nothing visible: "ad\u200dmin" reads as "admin"."""
    category = unicodedata.category(char)
    if category in ("So", "Sk", "Mn", "Mc", "Me"):
        return True
    return char.isalpha() and not char.isascii() and not unicodedata.name(char, "").startswith("LATIN")


def _unwanted_at(value: str, *, multiline: bool) -> list[int]:
    """The positions of unwanted characters in `value`: every `is_unwanted` one except an emoji
    flag's tag letters and, in one-line values, each joiner without a joining character on both
    sides (multi-line text keeps joiners as it keeps every other format character)."""
    flags = (
        {i for flag in _FLAG_TAG_SEQUENCE.finditer(value) for i in range(*flag.span())}
        if CANCEL_TAG in value
        else set()
    )
    found = []
    for index, char in enumerate(value):
        if index in flags:
            continue
        if char in JOINERS:
            beside = value[index - 1 : index] if index else "", value[index + 1 : index + 2]
            if not multiline and not all(neighbour and _joins(neighbour) for neighbour in beside):
                found.append(index)
        elif is_unwanted(char, multiline=multiline):
            found.append(index)
    return found


def unwanted_characters(value: str, *, multiline: bool = False) -> list[str]:
    """The distinct unwanted characters in `value`, in order of first appearance."""
    return list(dict.fromkeys(value[i] for i in _unwanted_at(value, multiline=multiline)))


def without_unwanted(value: str, *, multiline: bool = False) -> str:
    """`value` with every unwanted character removed (an emoji flag's tag letters stay)."""
    dropped = set(_unwanted_at(value, multiline=multiline))
    return "".join(char for index, char in enumerate(value) if index not in dropped)


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
