"""Widget specs, written once: name, type, default, range, choices and tooltip of every node widget.

The nodes build INPUT_TYPES from them, the pipelines validate with them (so a headless client's bad value gets the
widget's own name and range), and scripts/erase.py builds its options from them.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .validate import choice, flag, number

MAX_SEED = 2**31 - 1
GROW_LIMIT = 512  # mask grow/shrink in pixels, both nodes


@dataclass(frozen=True)
class Spec:
    name: str
    type: str                          # INT, FLOAT, BOOLEAN, STRING, or CHOICE (a list widget)
    default: Any
    tooltip: str
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: Mapping[str, Any] | None = None  # widget label -> what the pipeline receives
    multiline: bool | None = None      # STRING only
    control_after_generate: bool = False
    cli_help: str | None = None        # when the command line needs other words than the tooltip
    cli_flag: str | None = None        # when the flag is not --name-with-dashes (or --no-... for a True boolean)

    @property
    def labels(self) -> list[str]:
        return list(self.choices or ())

    @property
    def values(self) -> tuple:
        """What the pipeline receives for each label, in label order."""
        return tuple((self.choices or {}).values())

    def widget(self) -> tuple:
        """The INPUT_TYPES entry ComfyUI reads."""
        if self.type == "CHOICE":
            return (self.labels, {"default": self.default, "tooltip": self.tooltip})
        options: dict[str, Any] = {"default": self.default}
        for key in ("min", "max", "step", "multiline"):
            if getattr(self, key) is not None:
                options[key] = getattr(self, key)
        options["tooltip"] = self.tooltip
        if self.control_after_generate:
            options["control_after_generate"] = True
        return (self.type, options)

    def check(self, value: object) -> Any:
        """`value` checked against this widget's range or labels; an InputError names the widget."""
        if self.type == "CHOICE":
            return choice(self.name, value, self.labels)
        if self.type == "BOOLEAN":
            return flag(self.name, value)
        return number(self.name, value, self.min, self.max, whole=self.type == "INT")

    def parse(self, label: object) -> Any:
        """A widget label checked, then mapped to what the pipeline receives."""
        return self.choices[self.check(label)]

    def check_value(self, value: object) -> Any:
        """A pipeline-side value checked against the mapped choices (error/original, not the labels)."""
        return choice(self.name, value, self.values)


def _table(*specs: Spec) -> dict[str, Spec]:
    return {spec.name: spec for spec in specs}


def _int(name, default, low, high, tooltip, **extra) -> Spec:
    return Spec(name, "INT", default, tooltip, min=low, max=high, **extra)


def _float(name, default, low, high, step, tooltip, **extra) -> Spec:
    return Spec(name, "FLOAT", default, tooltip, min=low, max=high, step=step, **extra)


def _choice(name, choices, default, tooltip, **extra) -> Spec:
    if not isinstance(choices, Mapping):
        choices = {label: label for label in choices}
    return Spec(name, "CHOICE", default, tooltip, choices=choices, **extra)


def _bool(name, default, tooltip, **extra) -> Spec:
    return Spec(name, "BOOLEAN", default, tooltip, **extra)


FALLBACK = {"error": "error", "return original": "original"}

TIMEOUT = _float("timeout", 120.0, 5.0, 600.0, 5.0,
                 "Seconds each call may take as a whole: upload, answer and any result download.")

ERASE = _table(
    _int("seed", 0, -1, MAX_SEED, "Seed of variant 1; variant k uses seed+k-1. -1 = random every run.",
         control_after_generate=True, cli_help="-1 = random"),
    _int("variants", 1, 1, 4, "Results per image, each from its own call with its own seed."),
    _int("steps", 30, 1, 50, "Sampling steps: more is finer and much slower."),
    _float("strength", 0.8, 0.1, 1.0, 0.05, "How strongly the masked area is repainted."),
    _float("scale", 7.0, 1.0, 20.0, 0.5, "Guidance scale of the service."),
    _int("dilate_size", 15, 0, 100, "The service grows the mask by this many pixels; raise it for tight "
                                    "segmentation masks so no outline is left."),
    _choice("quality", ["H", "M", "L"], "M", "H best and slowest, M balanced, L fastest."),
    _bool("return_url", False, "Have the service also host the result at a URL for 24 h (the image is downloaded "
                               "either way)."),
    _int("mask_grow", 0, -GROW_LIMIT, GROW_LIMIT, "Grow (+) or shrink (-) the mask by this many pixels before "
                                                  "sending."),
    _int("feather", 8, 0, 256, "Soft seam width in pixels, outward from the dilated mask."),
    _bool("crop_to_mask", True, "Send only a crop around the mask: full detail for small objects, and images over "
                                "4096 px work at all.", cli_flag="--no-crop",
          cli_help="send the whole frame, not a crop around the mask"),
    _float("context", 2.0, 1.0, 16.0, 0.1, "Crop size as a multiple of the mask's bounding box; more context helps "
                                           "the service match the surroundings."),
    _bool("paste_back", True, "Keep every pixel outside the mask exactly as in the input. Off: the whole sent "
                              "region is replaced by the result.",
          cli_help="replace the whole sent region by the result, not only the masked pixels"),
    _int("ghost_face_retries", 2, 0, 5, "When the service withholds an 'AI ghost face' (201304) or a result fails "
                                        "review, retry with a new seed this many times."),
    _choice("on_ghost_face", FALLBACK, "error", "After the retries: stop with an error, or return the original "
                                               "image for that variant."),
    _choice("on_item_error", FALLBACK, "error", "When one image of a batch fails: stop, or return its original and "
                                               "keep the others.",
            cli_help="a failed image: report it and write nothing (a re-run retries it), or write its original"),
    _choice("on_empty_mask", {"return original": "original", "error": "error"}, "return original",
            "An empty mask: return the image unchanged without calling the API, or stop with an error."),
    TIMEOUT,
)

SUBJECT_MASK = _table(
    _choice("refine_mask", {"none": 0, "light": 1, "heavy": 2}, "none", "Edge refinement by the service: none, "
            "light or heavy matting (softer, more exact edges, slower)."),
    _int("grow", 0, -GROW_LIMIT, GROW_LIMIT, "Grow (+) or shrink (-) the subject mask by this many pixels; the "
                                             "background mask is its inverse."),
    replace(TIMEOUT, default=60.0),
)

ENTITY_MASK = _table(
    _choice("select", ["hint", "all", "largest", "all but largest"], "hint", "hint: the objects the hint stroke "
            "lands on; all: every object; largest: the largest object; all but largest: every other object (clear "
            "the clutter around the main thing)."),
    _float("overlap", 0.25, 0.01, 1.0, 0.01, "select = hint: an object is taken when the stroke covers this share "
                                            "of it, or when this share of a stroke lies on it (a quick line across "
                                            "an object). Lower it to take objects the stroke only touches."),
    _int("max_entities", 20, 1, 100, "At most this many objects per image (the service's max_entity, 1..100)."),
    _int("grow", 0, -GROW_LIMIT, GROW_LIMIT, "Grow (+) or shrink (-) the selected mask by this many pixels."),
    replace(TIMEOUT, default=60.0),
)

LOGO_INFO = _table(
    _bool("add_logo", False, "Add the service's 'AI generated' watermark."),
    _choice("position", {"bottom-right": 0, "bottom-left": 1, "top-left": 2, "top-right": 3}, "bottom-right",
            "Corner of the watermark.", cli_flag="--logo-position"),
    _choice("language", {"Chinese": 0, "English": 1}, "Chinese", "Language of the watermark text.",
            cli_flag="--logo-language"),
    _float("opacity", 0.3, 0.0, 1.0, 0.05, "Watermark opacity, 0 (invisible) to 1 (opaque).",
           cli_flag="--logo-opacity"),
    Spec("logo_text_content", "STRING", "", "Custom watermark text; empty uses the service's default.",
         multiline=False, cli_flag="--logo-text"),
)
LOGO_TEXT_LIMIT = 200


def widgets(table: Mapping[str, Spec]) -> dict[str, tuple]:
    """INPUT_TYPES entries for a whole table, in table order."""
    return {name: spec.widget() for name, spec in table.items()}
