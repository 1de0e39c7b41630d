"""How easily a password or a secret could be guessed, as zxcvbn (Dropbox's estimator) counts it: against its
lists of leaked passwords, English words and names, and the repeats, sequences, dates and keyboard walks people
type. It is what NIST SP 800-63B §5.1.1.2 asks a verifier to check a new password against."""

from __future__ import annotations

from dataclasses import dataclass

# zxcvbn's time grows much faster than the length (1,024 repeated letters take minutes): only this many
# characters are scored. A value is at least as hard to guess as its beginning.
SCORED_CHARACTERS = 64


@dataclass(frozen=True)
class Guessability:
    guesses_log10: float  # about how many guesses (a power of ten) an attacker trying likely values first needs
    warning: str  # zxcvbn's reason when it is easy ("This is a very common password."), else ""


def guessability(value: str) -> Guessability:
    from zxcvbn import zxcvbn  # its 0.8 MB of word lists load on the first check, not with every command

    result = zxcvbn(value[:SCORED_CHARACTERS], max_length=SCORED_CHARACTERS)
    return Guessability(result["guesses_log10"], result["feedback"]["warning"])
