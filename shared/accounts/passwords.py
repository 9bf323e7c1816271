"""argon2id password hashing (argon2-cffi defaults follow RFC 9106's recommendations), and what
makes a new password acceptable."""

from __future__ import annotations

import re
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verifying against this when the email is unknown costs the same time as a real check,
# so response time does not reveal which emails have accounts. Made on first use (dummy_hash),
# not at import: a production-strength hash is ~0.15 s of CPU, paid by every process that imports
# this module (each Celery worker, every CLI command) although only sign-in needs it. The web
# server's workers make it before they take a request (web/gunicorn_conf.py).
_DUMMY_HASH: str | None = None

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1000
# zxcvbn's scale: 3 is "safely unguessable" (about 10^8 guesses and more), enough behind a
# login rate limit and an argon2id hash. Below that are the common passwords, keyboard walks,
# names with a year, and passwords built from the account's own email or name.
MIN_PASSWORD_SCORE = 3
# zxcvbn refuses longer input (its matching grows with the length); 72 characters that are
# not guessable make the whole password not guessable.
_ESTIMATED_LENGTH = 72
_PRODUCT_WORDS = ("incident", "tracker", "incidenttracker", "incident-tracker")
# The digits and symbols typed for the letters they look like: "Qu1nn T3st3r" is still the
# account's own name (so is "nniuQ retseT", backwards), and a guesser tries both first.
_LOOKALIKES = {"a": "4@", "e": "3", "i": "1", "l": "1", "o": "0", "s": "5$", "t": "7"}


def normalised(password: str) -> str:
    """The password as it is hashed: Unicode NFKC (NIST SP 800-63B), so "Café" typed on a
    keyboard that sends "e" + a combining accent signs in as well as one that sends "é"."""
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    return _hasher.hash(normalised(password))


def _verifies(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_hash() -> str:
    """A hash of no account's password, at the current parameters: what an unknown email is
    checked against."""
    global _DUMMY_HASH  # made once per process, on first use
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("not-a-real-password")
    return _DUMMY_HASH


def verify_password(password_hash: str | None, password: str) -> bool:
    stored = password_hash or dummy_hash()
    typed = normalised(password)
    # A hash made before passwords were normalised holds the text as it was typed then. (The
    # second check depends only on the typed text, never on whether the account exists.)
    found = _verifies(stored, typed) or (typed != password and _verifies(stored, password))
    return found and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why this would be a poor new password for the account with this email and name, in
    words for the person choosing it; None when it is fine (NIST SP 800-63B: a minimum length
    and no easily guessed passwords, no composition rules)."""
    password = normalised(password)
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password is too long: use at most {MAX_PASSWORD_LENGTH:,} characters."
    local, _, domain = email.partition("@")
    own_words = (
        email,
        re.sub(r"\W", "", email),
        local,
        domain,
        domain.split(".")[0],
        *name.split(),
        "".join(name.split()),
    )
    known = [*(word for word in own_words if word), *_PRODUCT_WORDS]
    # zxcvbn reads each space-separated part on its own, so "Mo Member 2026" or "qwerty uiop 12"
    # looked strong: the password is judged without its spaces too, and the weaker reading counts.
    # And without the account's own words: mixed together with capitals and "!!" they scored as
    # strong ("Lee Lead 2026!!", "Mo Member mo.member"; found by QA), though a guesser who
    # knows whose account it is starts from them. What is left must be strong on its own. The
    # words count spelt backwards or with look-alike digits too ("nniuQ", "Qu1nn"; found by QA).
    unspaced = "".join(password.split())
    remainder = "".join(_without(unspaced, own_words).split())
    if not any(char.isalnum() for char in remainder):
        return "This password is too easy to guess: it is made of your own name and email."
    readings = dict.fromkeys(reading[:_ESTIMATED_LENGTH] for reading in (password, unspaced, remainder))
    # Imported here: ~40 ms of start-up (its word lists) for the few requests that set a password,
    # not for each Celery worker and CLI command that imports this module.
    from zxcvbn import zxcvbn

    estimates = {reading: zxcvbn(reading, user_inputs=known) for reading in readings}
    weakest = min(estimates, key=lambda reading: estimates[reading]["score"])
    estimate = estimates[weakest]
    if estimate["score"] >= MIN_PASSWORD_SCORE:
        return None
    if (
        weakest == remainder[:_ESTIMATED_LENGTH]
        and remainder != unspaced
        and all(estimates[reading]["score"] >= MIN_PASSWORD_SCORE for reading in readings if reading != weakest)
    ):
        # Only the part without their own words is weak: zxcvbn's advice on that part ("avoid
        # dates", "a longer keyboard pattern") would not tell them their name is the problem.
        return (
            "This password is too easy to guess. It is mostly your own name or email, and the rest is weak on its "
            "own. Add words that have nothing to do with you."
        )
    feedback = estimate["feedback"]
    why = " ".join(part for part in (feedback["warning"], *feedback["suggestions"]) if part)
    return f"This password is too easy to guess. {why or 'Add another word or two.'}".strip()


def _without(password: str, words) -> str:
    """`password` with each of `words` (two letters or more, any case, forwards or backwards, a
    letter or more typed as its look-alike: "T3st3r", "retseT") taken out, longest first."""
    spellings = {spelling for word in words if len(word) >= 2 for spelling in (word, word[::-1])}
    for spelling in sorted(spellings, key=len, reverse=True):
        # A word of digits ("365" of 365.example) is only ever typed as it is.
        replace = _unless_no_letters if any(char.isalpha() for char in spelling) else " "
        password = re.sub(_spelt_like(spelling), replace, password, flags=re.IGNORECASE)
    return password


def _spelt_like(word: str) -> str:
    """A pattern matching `word` with any of its letters typed as a look-alike ("t3st3r")."""
    return "".join(
        f"[{re.escape(char)}{re.escape(_LOOKALIKES[char.lower()])}]" if char.lower() in _LOOKALIKES else re.escape(char)
        for char in word
    )


def _unless_no_letters(found: re.Match[str]) -> str:
    # "11" or "10" alone is a number, not "Li" or "Io": a strong password that has one keeps it.
    text = found.group()
    return " " if any(char.isalpha() for char in text) else text
