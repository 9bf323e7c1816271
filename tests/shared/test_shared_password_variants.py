"""A new password made of the account's own name and email is refused however they are spelt:
with look-alike digits and symbols for letters ("Qu1nn T3st3r") or backwards ("nniuQ retseT"),
as the plain words are; a strong password that merely has digits in it is still accepted."""

from __future__ import annotations

import pytest

from shared.accounts import passwords

EMAIL, NAME = "quinn@example.com", "Quinn Tester"
GUESSABLE = "This password is too easy to guess."
OWN_WORDS_ONLY = "This password is too easy to guess: it is made of your own name and email."


def _problem(password: str, *, email: str = EMAIL, name: str = NAME) -> str | None:
    return passwords.password_problem(password, email=email, name=name)


@pytest.mark.parametrize(
    "password",
    [
        "Qu1nn T3st3r 2026!!",  # found by QA: digits for letters
        "nniuQ retseT 2026!!",  # found by QA: backwards
        "nn1uQ r3ts3T 2026!!",  # both
        "Qu1nnT3st3r2026!!",
        "QU1NN_T35T3R_2026",
        "7357er qu1nn 99!!",
        "Quinn Tester 2026!!",  # the plain words, as before
    ],
)
def test_the_own_name_spelt_with_digits_or_backwards_is_refused_as_too_easy(password):
    found = _problem(password)
    assert found is not None
    assert found.startswith(GUESSABLE)


@pytest.mark.parametrize("password", ["qu1nn@3x4mpl3.c0m", "T3st3r Qu1nn!!", "retseT nniuq $$ moc.elpmaxe"])
def test_nothing_but_the_own_words_in_disguise_is_named_as_such(password):
    assert _problem(password) == OWN_WORDS_ONLY


def test_a_leads_name_with_digits_for_letters_is_refused_like_the_plain_one():
    assert _problem("Lee Lead 2026!!", email="lee@example.com", name="Lee Lead") is not None
    found = _problem("L33 L3ad 2026!!", email="lee@example.com", name="Lee Lead")
    assert found is not None
    assert found.startswith(GUESSABLE)


@pytest.mark.parametrize(
    ("password", "email", "name"),
    [
        ("k7Qm2-xZ" * 3, EMAIL, NAME),  # random, digits and all
        ("gT4$w9!Lq2#v8Zr1", EMAIL, NAME),
        ("correct-horse-battery-staple-42", EMAIL, NAME),
        ("Tr0ub4dor&3-horse", EMAIL, NAME),
        ("7 lanterns drift over 3 quiet harbours", EMAIL, NAME),  # a long passphrase with numbers
        ("velvet 1ntern 0tter 5wamp 7ide", EMAIL, NAME),  # look-alikes, but none of the own words
        ("Qu1nn's cat ate 42 blue socks", EMAIL, NAME),  # the own name in disguise, with enough besides
        # A number is not a short name: "11" is not "Li", "10" not "Io".
        ("My 11 otters swim at 3am daily", "li@example.com", "Li Wu"),
        ("zebra 10 quartz 11 violin", "io@example.com", "Io Li"),
    ],
)
def test_a_strong_password_with_digits_in_it_is_still_accepted(password, email, name):
    assert _problem(password, email=email, name=name) is None


@pytest.mark.parametrize("password", ["Qu1nn T3st3r 2026!!", "nniuQ retseT 2026!!", "quinn.tester 2026!!"])
def test_a_password_weak_only_without_the_own_words_says_the_name_is_the_problem(password):
    """Found by the regression walk: these were refused with zxcvbn's advice on what was left
    ("Dates are often easy to guess", "Use a longer keyboard pattern"), not a word on the name."""
    found = _problem(password)
    assert found is not None
    assert "your own name or email" in found
