"""The stand-in's fault modes: what each kind does (FAULT_HELP, also printed by `--help` and listed in the README),
the Fault a test queues, and `KIND[:ARG][/TIMES]` as the command line writes one."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .service import GATEWAY_CODES
from .variations import RESULT_FAULTS

# kind: one line on what it does. Shapes (variants of a kind) are in SHAPES, the first being the default.
FAULT_HELP: dict[str, str] = {
    "latency": "wait SECONDS before answering (latency:20)",
    "error": "answer a service error CODE in the service's JSON shape (error:50429, error:50519)",
    "ghost_face": "answer 201304 'AI ghost face' as the top-level code, the algorithm status or the message",
    "gateway": "answer a gateway error, known or not (gateway:AccessDenied, gateway:FlowLimitExceeded@429, "
               "gateway:ServiceTemporarilyUnavailable@503)",
    "reset": "drop the connection with a TCP reset after reading the request",
    "truncated_json": "cut the success answer in half",
    "bad_base64": "put text that is not base64 where the result image goes",
    "wrong_size": "return the result at half width and height",
    "expired_url": "answer with a result URL only, which then answers 404",
    "empty_mask": "saliency finds nothing (an all-zero mask); entity segmentation finds no entity",
    "trickle": "send the answer (or, with shape download, the result URL's image) at RATE bytes per second "
               "(trickle:1, trickle:download@50)",
    "malformed": "a success answer (code 10000) with a broken body (malformed:SHAPE)",
    "url_only": "answer with a result URL and no inline image: the stand-in's own URL, one that redirects "
                "(url_only:redirect), or any URL given (url_only:http://169.254.169.254/latest/meta-data/)",
    "plain_text": "answer in plain text with STATUS, like the gateway for an unparsable request (plain_text:400)",
    "echo_credentials": "echo the access key, secret key and session token in RequestId, Code, request_id and "
                        "the message: a gateway error, a service error or a success answer (SHAPE)",
    "round_size_8": "inpainting result sides floored to a multiple of 8, like a latent-space model",
    "round_size_64": "inpainting result sides floored to a multiple of 64",
    "capped_size": "the inpainting model works at most 256 px on the long side and answers at that size",
    "wild_size": "an inpainting answer a third as high as sent (no resized copy of it)",
    "seam_drift": "the fill reaches past the round dilation and every colour shifts by a few levels",
}
assert set(RESULT_FAULTS) <= set(FAULT_HELP)
FAULT_KINDS = tuple(FAULT_HELP)
SHAPES: dict[str, tuple[str, ...]] = {
    "ghost_face": ("code", "algorithm", "message"),
    "trickle": ("answer", "download"),
    "malformed": ("base64_number", "base64_object", "base64_numbers", "urls_number", "data_null", "no_image",
                  "not_image", "algorithm_failed", "json_list", "code_missing", "bomb", "tiny", "oversized"),
    "url_only": ("standin", "redirect"),
    "echo_credentials": ("gateway", "service", "success"),
}
# Kinds applied after authentication and before body validation; the others need a valid body.
PRE_VALIDATION = ("reset", "latency", "gateway", "plain_text")
PLAIN_TEXT = "Error when parsing request"


@dataclass
class Fault:
    kind: str
    times: int = 1
    seconds: float = 0.0
    code: int | str | None = None
    shape: str = ""                  # "" = the kind's default shape
    action: str | None = None
    status: int | None = None        # HTTP status: plain_text, and gateway codes the table does not know
    rate: float = 1.0                # bytes per second: trickle
    url: str | None = None           # url_only: the URL to answer with (default: the stand-in's own)
    text: str = PLAIN_TEXT           # plain_text: the body

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if not isinstance(self.times, int) or self.times < 1:
            raise ValueError("Fault.times must be an integer >= 1")
        if self.kind == "latency" and not self.seconds >= 0:
            raise ValueError("Fault.seconds must be >= 0")
        if self.kind == "error" and self.code is not None and (not isinstance(self.code, int)
                                                                or isinstance(self.code, bool)):
            raise ValueError("an 'error' fault needs an integer API code, e.g. 50429")
        if self.kind == "gateway" and self.code is not None and self.code not in GATEWAY_CODES \
                and self.status is None:
            raise ValueError(f"gateway code {self.code!r} is not in the table ({', '.join(GATEWAY_CODES)}): give "
                             "its HTTP status too (gateway:CODE@STATUS)")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError("Fault.status must be an HTTP status (100..599)")
        if self.kind == "trickle" and not self.rate > 0:
            raise ValueError("Fault.rate must be > 0 bytes per second")
        shapes = SHAPES.get(self.kind, ("",))
        self.shape = self.shape or shapes[0]
        if self.shape not in shapes:
            raise ValueError(f"a {self.kind!r} fault takes shape {' / '.join(repr(s) for s in shapes)}, "
                             f"not {self.shape!r}")

    @property
    def pre_validation(self) -> bool:
        return self.kind in PRE_VALIDATION or (self.kind == "echo_credentials" and self.shape != "success")

    def matches(self, req_key: str | None) -> bool:
        if self.action is not None and req_key != self.action:
            return False
        if self.kind in RESULT_FAULTS:  # the inpainting picture's variations
            return req_key == "i2i_inpainting"
        return self.kind != "empty_mask" or req_key in ("saliency_seg", "entity_seg")


def parse_fault(text: str) -> Fault:
    """KIND[:ARG][/TIMES]. ARG: seconds (latency), the code (error; gateway as CODE[@STATUS]), the shape
    (ghost_face, malformed, echo_credentials), [SHAPE@]RATE or SHAPE (trickle), a shape or a URL (url_only),
    STATUS (plain_text)."""
    spec, _, times = text.rpartition("/")
    if not (spec and times.isdigit()):
        spec, times = text, ""
    kind, _, arg = spec.partition(":")
    fields: dict[str, Any] = {"times": int(times) if times else 1}
    if arg:
        fields.update(_argument(kind, arg))
    return Fault(kind, **fields)


def _argument(kind: str, arg: str) -> dict[str, Any]:
    if kind == "latency":
        return {"seconds": float(arg)}
    if kind == "error":
        return {"code": int(arg)}
    if kind == "gateway":
        code, _, status = arg.partition("@")
        return {"code": code, **({"status": int(status)} if status else {})}
    if kind == "plain_text":
        return {"status": int(arg)}
    if kind == "trickle":
        shape, _, rate = arg.rpartition("@")
        if not shape and not rate.replace(".", "", 1).isdigit():
            return {"shape": rate}
        return {"shape": shape, "rate": float(rate)}
    if kind == "url_only" and "://" in arg:
        return {"url": arg}
    if kind in SHAPES:
        return {"shape": arg}
    raise ValueError(f"fault kind {kind!r} takes no argument")
