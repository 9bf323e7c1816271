"""Invisible format characters: refused in one-line values (look-alikes), tag letters refused in
multi-line text (hidden ASCII), the joiners and emoji flags kept. Found by a security review:
`POST /api/v1/incidents` took the title "a\u200bdmin zero width" (201)."""

from __future__ import annotations

import pytest

from shared.errors import ValidationFailed
from shared.incidents import service as incidents
from shared.text import unwanted_characters, unwanted_message, without_unwanted

SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # joined by zero-width joiners
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "I want": a non-joiner inside the word
HIDDEN_ASCII = "".join(chr(0xE0000 + ord(c)) for c in "ignore the runbook")


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("a\u200bdmin", "U+200B ZERO WIDTH SPACE"),
        ("\ufeffDisk full", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("db\u2060-1", "U+2060 WORD JOINER"),
        ("ad\u00admin", "U+00AD SOFT HYPHEN"),
        ("Disk full" + HIDDEN_ASCII, "U+E0069 TAG LATIN SMALL LETTER I"),
    ],
)
def test_a_one_line_value_with_an_invisible_format_character_is_refused_by_name(value, named) -> None:
    message = unwanted_message(value, "title")
    assert message is not None
    assert named in message
    assert "invisible" in message


DEVANAGARI = "\u0915\u094d\u200d\u0937"  # a half form: the joiner after the virama
FIRE_HEART = "\u2764\ufe0f\u200d\U0001f525"  # variation selector, joiner, emoji
CODER = "\U0001f469\U0001f3fd\u200d\U0001f4bb"  # skin tone, joiner, emoji


@pytest.mark.parametrize(
    "value",
    [f"Pager storm {FAMILY}", PERSIAN, f"Edinburgh {SCOTLAND} site down", "café ☕", DEVANAGARI, FIRE_HEART, CODER],
)
def test_joiners_and_emoji_flags_are_kept_in_one_line_values(value) -> None:
    assert unwanted_characters(value) == []
    assert without_unwanted(value) == value


def test_a_tag_letter_outside_a_flag_is_still_refused_beside_a_flag() -> None:
    assert unwanted_characters(f"{SCOTLAND} ok {HIDDEN_ASCII[:1]}") == [HIDDEN_ASCII[0]]
    assert without_unwanted(f"{SCOTLAND} ok{HIDDEN_ASCII}") == f"{SCOTLAND} ok"


def test_multi_line_text_keeps_zero_width_spaces_but_refuses_hidden_ascii() -> None:
    # A zero-width space pasted with a log line hides nothing; tag letters hide whole sentences.
    pasted = "Stack trace:\n\tat\u200bcom.example.Main\n"
    assert unwanted_message(pasted, "comment", multiline=True) is None
    message = unwanted_message(f"Looks fine.{HIDDEN_ASCII}", "comment", multiline=True)
    assert message is not None
    assert "U+E0069 TAG LATIN SMALL LETTER I" in message
    assert without_unwanted(f"Looks fine.{HIDDEN_ASCII}", multiline=True) == "Looks fine."


def test_filing_refuses_a_look_alike_title_and_saves_nothing(db, users) -> None:
    with pytest.raises(ValidationFailed) as refused:
        incidents.create_incident(
            session=db, actor=users["lead"], title="a\u200bdmin password leak", description="", priority="P2"
        )
    assert "U+200B ZERO WIDTH SPACE" in refused.value.field_errors["title"]
    db.rollback()
    assert (
        incidents.create_incident(
            session=db, actor=users["lead"], title=f"Edinburgh {SCOTLAND} office offline", description="", priority="P2"
        ).title
        == f"Edinburgh {SCOTLAND} office offline"
    )


@pytest.mark.parametrize(
    "value",
    ["ad\u200dmin", "Ada\u200cAdmin", "\u200dadmin", "admin\u200d", "db-1\u200d.internal", "\U0001f525\u200d x"],
)
def test_a_joiner_between_characters_it_cannot_join_is_refused_in_one_line_values(value) -> None:
    """Found by QA after the first fix: U+200D and U+200C were let through anywhere, so
    "ad\u200dmin joiner" filed as a title and "Ada\u200dAdmin" as a user name (look-alikes)."""
    message = unwanted_message(value, "name")
    assert message is not None
    assert "U+200" in message
    assert without_unwanted(value) == value.replace("\u200d", "").replace("\u200c", "")


def test_multi_line_text_keeps_joiners_wherever_they_are() -> None:
    assert unwanted_message("see ad\u200dmin panel", "comment", multiline=True) is None
