"""One catalogue of the failures a send can end in: Meta's numeric error codes and Lynkist's
own `lk_*` codes, each with a short title and what to do about it (our own wording). The
campaign error report, the messages log and API error details all read from here.

`retryable` says whether trying the same request again later can succeed without anyone
changing anything (rate limits, temporary outages); it is advice for reports and schedulers,
the HTTP client's own retry rule is stricter (see apps.whatsapp.graph).
"""

from __future__ import annotations

from dataclasses import dataclass

# ruff: noqa: E501 (the catalogue is data: one entry per line reads best)


@dataclass(frozen=True)
class ErrorInfo:
    code: int | str
    title: str
    fix: str
    retryable: bool = False


_ENTRIES: list[ErrorInfo] = [
    ErrorInfo(0, "Authentication failed", "Meta could not authenticate the request. Reconnect the WhatsApp account with a fresh system-user access token."),
    ErrorInfo(3, "Capability missing", "The app lacks permission for this call. Check that the app has the whatsapp_business_messaging and whatsapp_business_management permissions."),
    ErrorInfo(4, "Too many API calls", "The app made too many Graph API calls in a short time. Wait a few minutes; sends resume on their own.", True),
    ErrorInfo(10, "Permission denied", "The token cannot act on this WABA or phone number. Grant the system user access to both in Business Manager, then reconnect."),
    ErrorInfo(100, "Invalid parameter", "Meta rejected a parameter of the request (an id, a field or a value). Check the template, its language and the phone number id."),
    ErrorInfo(190, "Access token expired or invalid", "The stored access token no longer works. Generate a new permanent system-user token and reconnect the account."),
    ErrorInfo(368, "Account temporarily blocked", "Meta blocked sending after policy violations. Review the account's quality in WhatsApp Manager and wait for the block to end."),
    ErrorInfo(470, "Outside the 24-hour window", "Free-form messages need a customer reply in the last 24 hours. Send an approved template instead."),
    ErrorInfo(80007, "WABA rate limit reached", "The business account hit Meta's rate limit. Slow down; sends resume on their own.", True),
    ErrorInfo(130429, "Throughput limit reached", "Messages were sent faster than the phone number's throughput. Lower the account's messages-per-second setting; pending sends retry.", True),
    ErrorInfo(131000, "Something went wrong at Meta", "Meta failed for an unknown reason. Try again later; if it persists, contact Meta support with the trace id.", True),
    ErrorInfo(131005, "Access denied", "The token's permissions do not cover this action. Check the system user's permissions and reconnect."),
    ErrorInfo(131008, "Required parameter missing", "A required field was left out of the request, often a template parameter. Check the variable mapping."),
    ErrorInfo(131009, "Parameter value not valid", "A value sent to Meta is malformed (phone number, URL, media id). Check the recipient number and the mapped values."),
    ErrorInfo(131016, "Service unavailable", "WhatsApp is temporarily overloaded or down. Try again later.", True),
    ErrorInfo(131021, "Recipient is the sender", "The recipient is the business's own number. Send to a different number."),
    ErrorInfo(131026, "Message undeliverable", "The number is not on WhatsApp, has not accepted the latest terms, or runs an old app. Check the number with the contact; do not retry blindly."),
    ErrorInfo(131031, "Business account locked", "Meta locked the WABA (policy or a failed verification). Resolve it in WhatsApp Manager before sending."),
    ErrorInfo(131042, "Payment problem", "The WABA's payment method failed or is missing. Fix billing in WhatsApp Manager."),
    ErrorInfo(131045, "Phone number not registered", "The sending number is not registered for the Cloud API. Register it (with its PIN) and try again."),
    ErrorInfo(131047, "Re-engagement needed", "More than 24 hours passed since the customer's last message. Use an approved template to start the conversation again."),
    ErrorInfo(131048, "Spam rate limit", "Too many recipients blocked or reported this number. Improve targeting and content, then send more slowly.", True),
    ErrorInfo(131049, "Marketing frequency cap", "Meta held back this marketing message to keep the recipient's experience healthy. Do not resend at once; try days later.", True),
    ErrorInfo(131051, "Unsupported message type", "WhatsApp does not support this kind of message. Use a supported type."),
    ErrorInfo(131052, "Media download failed", "Meta could not download the media the customer sent. Ask the customer to send it again."),
    ErrorInfo(131053, "Media upload failed", "Meta could not fetch or accept the media. Check its type, size and that its URL is reachable, then upload again."),
    ErrorInfo(131056, "Too many messages to one recipient", "This business sent the same number too much in a short time. Wait before messaging that number again.", True),
    ErrorInfo(132000, "Wrong number of template parameters", "The parameters sent do not match the template's placeholders. Map every placeholder exactly once."),
    ErrorInfo(132001, "Template not found", "No approved template with this name and language exists on the WABA. Check both, or sync templates."),
    ErrorInfo(132005, "Translated text too long", "The template text with its values exceeds Meta's limits. Shorten the values."),
    ErrorInfo(132007, "Template breaks policy", "The template's content violates WhatsApp policy. Edit it and submit it again."),
    ErrorInfo(132012, "Template parameter format mismatch", "A value does not have the format the template expects (e.g. media where text was declared). Check the header and parameter types."),
    ErrorInfo(132015, "Template paused", "Meta paused the template for low quality. Edit it or use another template."),
    ErrorInfo(132016, "Template disabled", "Meta disabled the template after repeated low quality. Create a new template."),
    ErrorInfo(133010, "Phone number not registered", "The business phone number is not registered on the WhatsApp Business Platform. Register it first."),
    # Lynkist's own decisions, never sent to Meta.
    ErrorInfo("lk_missing_variable", "Variable empty", "A mapped contact field is empty and has no fallback. Fill the field or add a fallback to the mapping."),
    ErrorInfo("lk_opted_out", "Contact opted out", "The contact asked not to receive messages. They must opt back in (e.g. by sending START)."),
    ErrorInfo("lk_outcome_unknown", "Outcome unknown", "The send was interrupted before WhatsApp answered, so it is not known whether it went out. It is not resent automatically, to avoid duplicates."),
    ErrorInfo("lk_invalid_phone", "Invalid phone number", "The contact's number is not a valid international (E.164) number. Correct it on the contact."),
    ErrorInfo("lk_messaging_limit", "Messaging limit reached", "The phone number's daily limit of business-initiated conversations was reached. Wait for it to reset or raise the tier with Meta."),
]  # fmt: skip

CATALOGUE: dict[int | str, ErrorInfo] = {entry.code: entry for entry in _ENTRIES}


def _normalise(code: int | str | None) -> int | str | None:
    if isinstance(code, str) and code.isdigit():
        return int(code)
    return code


def error_info(code: int | str | None) -> ErrorInfo:
    """The entry for `code`; an unknown code still gets a usable title and fix."""
    code = _normalise(code)
    if code in CATALOGUE:
        return CATALOGUE[code]
    return ErrorInfo(
        code if code is not None else "unknown",
        f"WhatsApp error {code}" if code is not None else "Unknown error",
        "Meta returned an error Lynkist does not know yet. Check the raw error details.",
    )
