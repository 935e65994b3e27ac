"""Settings > Volcengine > Test: does the key pair the nodes would use work, and for which service? Nothing billed.

Each service is probed with a request that names its req_key and carries no image (`{"req_key": "i2i_inpainting"}`
to Img2ImgInpainting). The reasoning, from the documented answers:
- the gateway checks the access key, the signature and the account's access to the visual service (cv) first: its
  errors (InvalidAccessKey, SignatureDoesNotMatch, AccessDenied, LackPolicy) come back before the service sees the body;
- the service answers 50400 "permission check failed" when the account may not use the req_key, and it gives the same
  code to a wrong req_key: the permission check is made per req_key, before the arguments it needs are looked at;
- so a 502xx argument error (50201 "missing argument": no image) proves the key, the signature and the permission for
  that req_key, and no image means no result and nothing to bill.
An answer the docs do not cover is shown as it came (outcome "other"), never guessed to be a success.
"""
from __future__ import annotations

from dataclasses import dataclass

from .client import VisualClient
from .credentials import Credentials
from .errors import CredentialsError, NetworkError, VolcError

# Outcomes of the check route, for the front end.
OK, KEY_NOT_FOUND, SIGNATURE_WRONG, NO_PERMISSION = "ok", "key_not_found", "signature_wrong", "no_permission"
NETWORK, NOT_CONFIGURED, OTHER = "network", "not_configured", "other"

GATEWAY_DENIED = frozenset({"AccessDenied", "LackPolicy"})  # no access to the visual service (cv) at all
SERVICE_DENIED = 50400  # no permission for the req_key that was called
ARGUMENT_CODES = frozenset({50200, 50201, 50204, 50205, 50206, 50207, 50213, 50215})


@dataclass(frozen=True)
class Probe:
    req_key: str
    action: str
    service: str   # as the user knows it
    used_by: str   # what fails without it

    async def run(self, client: VisualClient) -> tuple[str, VolcError | None]:
        """(outcome, error): OK when the service authenticated the pair and accepted the req_key."""
        try:
            await client.call(self.action, {"req_key": self.req_key})
        except VolcError as exc:
            if exc.code in ARGUMENT_CODES:
                return OK, exc
            return outcome_of(exc), exc
        return OK, None  # a success without an image is not documented; the pair and the permission worked anyway


INPAINTING = Probe("i2i_inpainting", "Img2ImgInpainting", "Inpainting (i2i_inpainting)",
                   "the Volcengine Inpainting Erase node")
SALIENCY = Probe("saliency_seg", "CVProcess", "subject segmentation (saliency_seg)", "the Volcengine Subject Mask node")


def outcome_of(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    if isinstance(exc, CredentialsError):
        return NOT_CONFIGURED
    if code == "InvalidAccessKey":
        return KEY_NOT_FOUND
    if code == "SignatureDoesNotMatch":
        return SIGNATURE_WRONG
    if code in GATEWAY_DENIED or code == SERVICE_DENIED:
        return NO_PERMISSION
    if isinstance(exc, NetworkError):
        return NETWORK
    return OTHER


def failure_sentence(outcome: str, exc: BaseException, probe: Probe = INPAINTING) -> str:
    """What went wrong, for the settings page; str(VolcError) never holds a secret."""
    detail = str(exc) if isinstance(exc, VolcError) else f"The check failed unexpectedly ({type(exc).__name__})."
    if outcome == KEY_NOT_FOUND:
        return "Volcengine does not know this access key. " + detail
    if outcome == SIGNATURE_WRONG:
        return "The access key exists but the secret key does not belong to it. " + detail
    if outcome == NO_PERMISSION and getattr(exc, "code", None) == SERVICE_DENIED:
        return (f"The key pair is valid, but the account has no permission for {probe.service}, which "
                f"{probe.used_by} needs: enable it in the Volcengine console. (code {SERVICE_DENIED})")
    if outcome == NO_PERMISSION:
        return "The key pair is valid but lacks permission for the visual service (cv). " + detail
    return detail


def _side_note(outcome: str, exc: VolcError | None, probe: Probe) -> str:
    if outcome == OK:
        return f" {probe.service.capitalize()}, for {probe.used_by}: permitted too."
    if outcome == NO_PERMISSION:
        return (f" {probe.service.capitalize()}: no permission (code {exc.code if exc else '?'}), so "
                f"{probe.used_by} will fail until it is enabled.")
    return f" {probe.service.capitalize()} could not be checked ({outcome})."


async def check(credentials: Credentials, client: VisualClient) -> dict[str, object]:
    """Probe Inpainting (what the outcome is about), then subject segmentation (a note in the message).
    Returns {outcome, message, request_id, services: {req_key: outcome}}."""
    outcome, exc = await INPAINTING.run(client)
    services = {INPAINTING.req_key: outcome}
    request_id = getattr(exc, "request_id", None)
    if outcome == OK:
        code = f" as expected (code {exc.code})" if exc is not None else ""
        message = (f"The key pair works for {INPAINTING.service}: the service authenticated it and accepted the "
                   f"request, then refused the deliberately empty test{code}, so nothing was billed (access key "
                   f"{credentials.hint}, from {credentials.source}).")
    elif outcome == NO_PERMISSION and exc is not None and exc.code == SERVICE_DENIED:
        message = failure_sentence(outcome, exc, INPAINTING)
    else:  # the pair itself, the network or the gateway failed: a second probe would tell nothing new
        return {"outcome": outcome, "message": failure_sentence(outcome, exc, INPAINTING),
                "request_id": request_id, "services": services}
    side, side_exc = await SALIENCY.run(client)
    services[SALIENCY.req_key] = side
    return {"outcome": outcome, "message": message + _side_note(side, side_exc, SALIENCY),
            "request_id": request_id, "services": services}
