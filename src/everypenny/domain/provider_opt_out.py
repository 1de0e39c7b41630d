"""Opt-out and opt-in words a link provider acts on before we see the text: Twilio, on long codes.

Twilio itself answers these words on a long code and keeps the number's state: after an opt-out word it
refuses (error 21610) every message from that number to the phone until an opt-in word. It still forwards the
text to our webhook, so we record each as a consent change and send nothing of our own: a reply would either
be blocked or repeat the confirmation Twilio already sent. Only a text that is the word alone counts ("stop"
and "sToP" do, "stop please" does not). With Advanced Opt-Out a Messaging Service may add its own words and
then says which kind a text was in the webhook's `OptOutType` parameter (STOP, START or HELP).

Sources: Twilio, "Customize users' opt-in and opt-out experience with Advanced Opt-Out"
(https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out: STOP, UNSUBSCRIBE, END, QUIT, STOPALL,
REVOKE, OPTOUT and CANCEL on long codes); "Twilio support for opt-out keywords (SMS STOP filtering)"
(https://help.twilio.com/hc/en-us/articles/223134027: START, YES and UNSTOP opt back in; single-word
messages only; error 21610 for a blocked recipient); "How to Track Opt-Out, Opt-In and Help Messages Using
the OptOutType Parameter" (https://help.twilio.com/hc/en-us/articles/31560110671259: OptOutType is STOP,
START or HELP; the whole body must match, in any case).
"""

from __future__ import annotations

from dataclasses import dataclass

TWILIO_OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "OPTOUT", "REVOKE"})
TWILIO_OPT_IN = frozenset({"START", "YES", "UNSTOP"})
TWILIO_HELP = frozenset({"HELP", "INFO"})  # Advanced Opt-Out's default help words
_OPT_OUT_TYPES = {"STOP": False, "START": True}  # HELP changes no consent
SOURCE_PREFIX = "twilio:"  # how the consents recorded from these words begin


@dataclass(frozen=True)
class ConsentChange:
    """A word the provider acted on: whether the person may now be texted, and the record's source
    (`twilio:QUIT`; `twilio:ARRET OptOutType=STOP` when Twilio named the kind)."""

    granted: bool
    source: str


def twilio_consent_change(body: str, opt_out_type: str | None) -> ConsentChange | None:
    """The consent change Twilio made for this text, or None when it made none (HELP, or any other text)."""
    word = body.strip().upper()
    kind = (opt_out_type or "").strip().upper()
    if kind in _OPT_OUT_TYPES:
        return ConsentChange(_OPT_OUT_TYPES[kind], f"{SOURCE_PREFIX}{word} OptOutType={kind}"[:60])
    if word in TWILIO_OPT_OUT | TWILIO_OPT_IN:
        return ConsentChange(word in TWILIO_OPT_IN, f"{SOURCE_PREFIX}{word}")
    return None


def twilio_answers_help(body: str, opt_out_type: str | None) -> bool:
    """Whether Twilio's Advanced Opt-Out has answered this text as a help request (OptOutType=HELP, or a help
    word alone), so a reply of ours would be the donor's second."""
    return (opt_out_type or "").strip().upper() == "HELP" or body.strip().upper() in TWILIO_HELP
