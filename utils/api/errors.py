"""One small error hierarchy. Every error carries the HTTP status, the API code, the request id and what to do.

How an error reads: its first line (`headline`) is one short sentence saying what is wrong and what to do, e.g.
"The secret key does not match access key …0000: fix VOLC_SECRETKEY." (at most ~140 characters). The service's or
gateway's own words, the code, HTTP status and request id follow on the next line (`details`). str() is both lines;
ComfyUI's error dialog, the CLI and the Settings panel all show the headline first. str() never contains credentials
or raw response bytes."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

HEADLINE_LIMIT = 140
# A hint starting with one of these keeps its capital when it is joined into the headline.
_PROPER_WORDS = frozenset({"Volcengine", "Load", "Mask", "Settings", "Python"})
_WORD = re.compile(r"[A-Z][a-z]*\b")


def _lower_first(hint: str) -> str:
    """"Check X." -> "check X." so it reads on after a colon; names (VOLC_SECRETKEY, ComfyUI, Load Image) stay."""
    match = _WORD.match(hint)
    if match and match.group() not in _PROPER_WORDS:
        return hint[0].lower() + hint[1:]
    return hint


def compose_headline(message: str, hint: str = "") -> str:
    """One sentence: what is wrong, then what to do ("X: do Y."), on one line, ending with a period. A message
    starts with a capital, or with the name of the input it is about (seed, mask, on_empty_mask), kept as it is."""
    what = " ".join(message.split()).rstrip(" .")
    todo = " ".join(hint.split()).rstrip(" .")
    if not todo:
        return what + "."
    joiner = "; " if ": " in what or ": " in todo else ": "
    return f"{what}{joiner}{_lower_first(todo)}."


class VolcError(Exception):
    """Base class: something the user should read. `message` says what is wrong, `hint` what to do about it,
    `detail` holds the service's own words (shown after the headline, never in it)."""

    def __init__(self, message: str, *, hint: str = "", http_status: int | None = None,
                 code: int | str | None = None, request_id: str | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.http_status = http_status
        self.code = code
        self.request_id = request_id
        self.detail = detail
        self.attempts = 1                  # requests made for this call, retries included (set by the client)
        self.retries: list[str] = []       # why each retry happened

    @property
    def headline(self) -> str:
        return compose_headline(self.message, self.hint)

    @property
    def details(self) -> str:
        """The second line: the service's words, then code, HTTP status and request id; "" when there are none."""
        ids = []
        if self.code is not None:
            ids.append(f"code {self.code}")
        if self.http_status is not None:
            ids.append(f"HTTP {self.http_status}")
        if self.request_id:
            ids.append(f"request id {self.request_id}")
        said = " ".join(self.detail.split())
        if said and ids:
            return f"{said} ({', '.join(ids)})"
        return said or ", ".join(ids)

    def __str__(self) -> str:
        details = self.details
        return f"{self.headline}\n{details}" if details else self.headline


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


def _said(who: str, message: str) -> str:
    """The server's own words for the details line: its text, never our secrets, shortened."""
    message = " ".join((message or "").split())[:200].rstrip(".")
    return f'{who} said: "{message}"' if message and message.lower() != "success" else ""


def service_error(code: int, message: str, http_status: int | None, request_id: str | None) -> VolcError:
    cls, text, hint = _SERVICE_CODES.get(code, (ServiceError, "The service answered an unexpected error.",
                                                "Try again later; report it if it persists."))
    return cls(text, hint=hint, http_status=http_status, code=code, request_id=request_id,
               detail=_said("Service", message))


def _where(source: str, env_name: str, what: str) -> str:
    """Where the user fixes a key: the variable, the Settings panel or the file it came from."""
    if source == "environment":
        return env_name
    if source == "ComfyUI settings":
        return f"the {what} in Settings > Volcengine"
    return f"the {what} in {source}"


# Gateway codes that say "not now" rather than "not you" (Volcengine's common error table), retried like
# 50429 / 50500. Any other code the table above does not know is quoted as it came, by its HTTP status.
_GATEWAY_THROTTLE = frozenset({"FlowLimitExceeded", "AccountFlowLimitExceeded", "RequestLimitExceeded"})
_GATEWAY_UNAVAILABLE = frozenset({"ServiceUnavailableTemp", "ServiceTemporarilyUnavailable"})


def _unknown_gateway_error(code: str, message: str, http_status: int | None,
                           request_id: str | None) -> VolcError:
    said = _said("Gateway", message)
    if code in _GATEWAY_THROTTLE or http_status == 429:
        return RateLimitError("The API gateway is throttling requests.",
                              hint="Wait a moment, lower variants, or ask Volcengine for a higher quota.",
                              http_status=http_status, code=code, request_id=request_id, detail=said)
    if code in _GATEWAY_UNAVAILABLE or (http_status or 0) >= 500:
        return ServiceError("The API gateway says the service is unavailable.", hint="Try again later.",
                            http_status=http_status, code=code, request_id=request_id, detail=said)
    return ServiceError(f"The API gateway answered an unknown error ({code[:40]})",
                        hint="Look the code up in Volcengine's error list; report it if it persists.",
                        http_status=http_status, code=code, request_id=request_id, detail=said)


def plain_text_error(http_status: int, words: str, request_id: str | None = None) -> VolcError:
    """A non-JSON answer (the gateway answers some malformed requests in plain text): its status and first words."""
    cls = RateLimitError if http_status == 429 else ServiceError
    hint = ("Wait a moment and run again." if http_status in (429, 503) else
            "Try again; if it persists, check VOLC_VISUAL_ENDPOINT and any proxy in between.")
    said = _said("Service", words) if words else "The answer had no body."
    return cls("The service answered in plain text, not JSON.", hint=hint, http_status=http_status,
               request_id=request_id, detail=said)


def gateway_error(code: str, message: str, http_status: int | None, request_id: str | None,
                  key_hint: str = "", source: str = "environment") -> VolcError:
    if code not in _GATEWAY_CODES:
        return _unknown_gateway_error(code, message, http_status, request_id)
    text, hint = _GATEWAY_CODES[code]
    key = f"access key {key_hint}" if key_hint else "the access key"
    if code == "InvalidAccessKey":
        text = f"Volcengine does not know {key}"
        hint = f"Copy {_where(source, 'VOLC_ACCESSKEY', 'access key')} again from the console."
    elif code == "SignatureDoesNotMatch":
        text = f"The secret key does not match {key}"
        hint = f"Fix {_where(source, 'VOLC_SECRETKEY', 'secret key')}."
    return GatewayAuthError(text, hint=hint, http_status=http_status, code=code, request_id=request_id,
                            detail=_said("Gateway", message))


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
        named = GatewayAuthError(f"The account has no permission for {service}.",
                                 hint=f"Enable {service.split(' (')[0]} for this account in the Volcengine console.",
                                 http_status=exc.http_status, code=exc.code, request_id=exc.request_id,
                                 detail=exc.detail)
        named.attempts, named.retries = exc.attempts, exc.retries
        raise named from None

