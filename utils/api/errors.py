"""One small error hierarchy. Every error carries the HTTP status, the API code, the request id and one sentence
telling the user what to do; str() never contains credentials or raw response bytes."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class VolcError(Exception):
    """Base class: something the user should read. `hint` says what to do about it."""

    def __init__(self, message: str, *, hint: str = "", http_status: int | None = None,
                 code: int | str | None = None, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.http_status = http_status
        self.code = code
        self.request_id = request_id
        self.attempts = 1                  # requests made for this call, retries included (set by the client)
        self.retries: list[str] = []       # why each retry happened

    def __str__(self) -> str:
        parts = [self.message]
        if self.hint:
            parts.append(self.hint)
        details = []
        if self.code is not None:
            details.append(f"code {self.code}")
        if self.http_status is not None:
            details.append(f"HTTP {self.http_status}")
        if self.request_id:
            details.append(f"request id {self.request_id}")
        text = " ".join(parts)
        return f"{text} ({', '.join(details)})" if details else text


class InputError(VolcError, ValueError):
    """The user's input (image, mask, widget value) cannot be used as it is; raised before any call."""


class CredentialsError(VolcError):
    """No usable access key / secret key."""


class InputRejectedError(VolcError):
    """The service refused the request's arguments or images (HTTP 400, codes 502xx)."""


class ContentReviewError(VolcError):
    """Input or output failed the service's content review (50411/50412/50413/50511/50512)."""


class RateLimitError(VolcError):
    """QPS or concurrency limit (50429/50430); retried with backoff before it reaches the user."""


class GhostFaceError(VolcError):
    """The algorithm produced an "AI ghost face" (201304); a new seed usually avoids it."""


class ServiceError(VolcError):
    """The service failed internally (50500/50501) or answered something we cannot read."""


class GatewayAuthError(VolcError):
    """The API gateway refused the request: signature, access key, clock, permission or routing."""


class NetworkError(VolcError):
    """The service could not be reached, or the connection broke."""


class ConnectFailedError(NetworkError):
    """The request never reached the server, so repeating it cannot double-bill."""


class RequestTimeoutError(NetworkError):
    """No answer in time."""


# --- mapping of the API's answers (reference tables in the README) ---------------------------------------------

_SERVICE_CODES: dict[int, tuple[type[VolcError], str, str]] = {
    50200: (InputRejectedError, "The service rejected an argument.", "Check the node's widget values are in range."),
    50201: (InputRejectedError, "The service says an argument is missing.", "Update the pack; this is a bug."),
    50204: (InputRejectedError, "The service could not parse the request.", "Update the pack; this is a bug."),
    50205: (InputRejectedError, "The service says the image is too large.",
            "Use crop-around-mask or a smaller image (the limit is 5 MB, 4096 px per side)."),
    50206: (InputRejectedError, "The service received an empty image.", "Check the image input."),
    50207: (InputRejectedError, "The service could not decode the image.", "Re-save the image as PNG or JPEG."),
    50213: (InputRejectedError, "The request body is too large.", "Use a smaller image or crop-around-mask."),
    50215: (InputRejectedError, "The image or mask does not meet the service's requirements.",
            "Check the image is 64..4096 px and the mask matches it."),
    50400: (GatewayAuthError, "The account has no permission for the service called (a wrong req_key also "
                              "gives this code).", "Enable the service for this account in the Volcengine console."),
    50411: (ContentReviewError, "The input image failed the service's content review.", "Use another image."),
    50412: (ContentReviewError, "The logo text failed the service's content review.", "Change logo_text_content."),
    50413: (ContentReviewError, "The logo text was blocked (names, IP or blocklist).", "Change logo_text_content."),
    50511: (ContentReviewError, "The result failed the service's content review.", "Run again with another seed."),
    50512: (ContentReviewError, "The result text failed the service's content review.", "Change logo_text_content."),
    # 50518-50522 are listed by sibling visual APIs' docs, not the inpainting page; the same gateway serves them.
    50518: (ContentReviewError, "The input image failed the service's copyright review.", "Use another image."),
    50519: (ContentReviewError, "The result failed the service's copyright review.", "Run again with another seed."),
    50520: (ServiceError, "The service's content review failed internally.", "Try again later."),
    50521: (ServiceError, "The service's text copyright review failed internally.", "Try again later."),
    50522: (ServiceError, "The service's image copyright review failed internally.", "Try again later."),
    50429: (RateLimitError, "The account's request-per-second limit was reached.",
            "Wait a moment, lower variants, or ask Volcengine for a higher QPS quota."),
    50430: (RateLimitError, "The account's concurrency limit was reached.",
            "Lower VOLC_MAX_CONCURRENCY or variants, or ask Volcengine for a higher quota."),
    50500: (ServiceError, "The service had an internal error.", "Try again later."),
    50501: (ServiceError, "The service had an internal error.", "Try again later."),
    201304: (GhostFaceError, "The service produced an 'AI ghost face' result and withheld it.",
             "Run again with another seed, or enlarge or shrink the mask."),
}

# Content-review failures of the output and ghost faces are a property of one result: another seed may pass.
NEW_SEED_CODES = frozenset({50511, 50519, 201304})
# Internal failures the client retries once (the docs disagree whether they are transient; one retry is bounded).
RETRY_ONCE_CODES = frozenset({50500, 50501, 50520, 50521, 50522})

_GATEWAY_CODES: dict[str, tuple[str, str]] = {
    "MissingParameter": ("The gateway says the request is incomplete.", "A proxy may strip headers; else a bug."),
    "MissingRequestInfo": ("The gateway says the request is incomplete.", "A proxy may strip headers; else a bug."),
    "MissingAuthenticationToken": ("The request carried no credentials.", "Set VOLC_ACCESSKEY and VOLC_SECRETKEY."),
    "MissingSignature": ("The request's signature was missing.", "A proxy may strip the Authorization header."),
    "InvalidTimestamp": ("The request's time stamp was rejected.",
                         "This computer's clock is off: synchronise it (NTP) and run again."),
    "ServiceNotFound": ("The gateway does not know this service.",
                        "Check VOLC_VISUAL_ENDPOINT (it should be https://visual.volcengineapi.com)."),
    "InvalidActionOrVersion": ("The gateway does not know this action or version.",
                               "Check VOLC_VISUAL_ENDPOINT (it should be https://visual.volcengineapi.com)."),
    "InvalidAccessKey": ("The access key was not found.", "Check VOLC_ACCESSKEY: copy it again from the console."),
    "SignatureDoesNotMatch": ("The signature does not match.",
                              "Check VOLC_SECRETKEY: it must be the secret of this access key."),
    "LackPolicy": ("The account lacks permission for the visual service.",
                   "Grant the key's user access to the cv (visual) service in the IAM console."),
    "AccessDenied": ("Access to the visual service was denied.",
                     "Grant the key's user access to the cv (visual) service in the IAM console."),
}


def service_error(code: int, message: str, http_status: int | None, request_id: str | None) -> VolcError:
    cls, text, hint = _SERVICE_CODES.get(code, (ServiceError, "The service answered an unexpected error.",
                                                "Try again later; report it if it persists."))
    # The service's own message is kept (it is text from the server, never our secrets) but shortened.
    detail = f' Service said: "{message[:200].rstrip(".")}".' if message and message.lower() != "success" else ""
    return cls(text + detail, hint=hint, http_status=http_status, code=code, request_id=request_id)


# Gateway codes that say "not now" rather than "not you" (Volcengine's common error table), retried like
# 50429 / 50500. Any other code the table above does not know is quoted as it came, by its HTTP status.
_GATEWAY_THROTTLE = frozenset({"FlowLimitExceeded", "AccountFlowLimitExceeded", "RequestLimitExceeded"})
_GATEWAY_UNAVAILABLE = frozenset({"ServiceUnavailableTemp", "ServiceTemporarilyUnavailable"})


def _unknown_gateway_error(code: str, message: str, http_status: int | None,
                           request_id: str | None) -> VolcError:
    said = f' Gateway said: "{message[:200].rstrip(".")}".' if message else ""
    if code in _GATEWAY_THROTTLE or http_status == 429:
        return RateLimitError(f"The API gateway is throttling requests ({code}).{said}",
                              hint="Wait a moment, lower variants, or ask Volcengine for a higher quota.",
                              http_status=http_status, code=code, request_id=request_id)
    if code in _GATEWAY_UNAVAILABLE or (http_status or 0) >= 500:
        return ServiceError(f"The API gateway answered {code}: the service is unavailable.{said}",
                            hint="Try again later.", http_status=http_status, code=code, request_id=request_id)
    return ServiceError(f"The API gateway answered an error this pack does not know ({code}).{said}",
                        hint="Look the code up in Volcengine's error list; report it if it persists.",
                        http_status=http_status, code=code, request_id=request_id)


def plain_text_error(http_status: int, words: str, request_id: str | None = None) -> VolcError:
    """A non-JSON answer (the gateway answers some malformed requests in plain text): its status and first words."""
    said = f': "{words}"' if words else " without a body"
    cls = RateLimitError if http_status == 429 else ServiceError
    hint = ("Wait a moment and run again." if http_status in (429, 503) else
            "Try again; if it persists, check VOLC_VISUAL_ENDPOINT and any proxy in between.")
    return cls(f"The service answered HTTP {http_status} in plain text{said}.", hint=hint, http_status=http_status,
               request_id=request_id)


def gateway_error(code: str, message: str, http_status: int | None, request_id: str | None,
                  key_hint: str = "", source: str = "environment") -> VolcError:
    if code not in _GATEWAY_CODES:
        return _unknown_gateway_error(code, message, http_status, request_id)
    text, hint = _GATEWAY_CODES[code]
    where = "VOLC_ACCESSKEY" if source == "environment" else f"the access key in {source}"
    if code == "InvalidAccessKey" and key_hint:
        hint = f"Check {where} (the key ending {key_hint}): copy it again from the console."
    elif code == "SignatureDoesNotMatch" and source != "environment":
        hint = f"Check the secret key in {source}: it must be the secret of the key ending {key_hint}."
    detail = f' Gateway said: "{message[:200].rstrip(".")}".' if message else ""
    return GatewayAuthError(f"{text}{detail}", hint=hint, http_status=http_status, code=code,
                            request_id=request_id)


# 50400 names no service; whoever makes the call knows which one it asked for.
SERVICE_NAMES = {"i2i_inpainting": "Inpainting (i2i_inpainting)",
                 "saliency_seg": "subject segmentation (saliency_seg)",
                 "entity_seg": "entity segmentation (entity_seg)"}


@contextmanager
def naming_the_service(req_key: str) -> Iterator[None]:
    """Re-raise a 50400 from the block as "no permission for <the service of req_key>"."""
    try:
        yield
    except VolcError as exc:
        if exc.code != 50400:
            raise
        service = SERVICE_NAMES.get(req_key, req_key)
        generic = _SERVICE_CODES[50400][1]  # keeps whatever service_error added after it (the server's words)
        named = GatewayAuthError(exc.message.replace(generic, f"The account has no permission for {service}.", 1),
                                 hint=f"Enable {service.split(' (')[0]} for this account in the Volcengine console.",
                                 http_status=exc.http_status, code=exc.code, request_id=exc.request_id)
        named.attempts, named.retries = exc.attempts, exc.retries
        raise named from None

