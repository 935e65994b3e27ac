"""VolcengineLogoInfo: the API's optional watermark settings, as one small node feeding the eraser."""
from __future__ import annotations

from ..utils.api.client import LogoInfo
from ..utils.validate import choice, number, text

POSITIONS = ["bottom-right", "bottom-left", "top-left", "top-right"]
LANGUAGES = ["Chinese", "English"]


class VolcengineLogoInfo:
    DESCRIPTION = ("Watermark settings for Volcengine Inpainting (the API's logo_info). Connect to the eraser's "
                   "logo_info input; leave it unconnected for no watermark.")
    CATEGORY = "Volcengine"
    RETURN_TYPES = ("VOLC_LOGO_INFO",)
    RETURN_NAMES = ("logo_info",)
    OUTPUT_TOOLTIPS = ("Watermark settings for the eraser's logo_info input.",)
    FUNCTION = "build"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "add_logo": ("BOOLEAN", {"default": False, "tooltip": "Add the service's 'AI generated' watermark."}),
            "position": (POSITIONS, {"default": "bottom-right", "tooltip": "Corner of the watermark."}),
            "language": (LANGUAGES, {"default": "Chinese", "tooltip": "Language of the watermark text."}),
            "opacity": ("FLOAT", {"default": 0.3, "min": 0.0, "max": 1.0, "step": 0.05,
                                  "tooltip": "Watermark opacity, 0 (invisible) to 1 (opaque)."}),
            "logo_text_content": ("STRING", {"default": "", "multiline": False,
                                             "tooltip": "Custom watermark text; empty uses the service's default."}),
        }}

    def build(self, add_logo: bool, position: str, language: str, opacity: float, logo_text_content: str):
        choice("position", position, POSITIONS)
        choice("language", language, LANGUAGES)
        opacity = float(number("opacity", opacity, 0.0, 1.0))
        content = text("logo_text_content", logo_text_content, limit=200)
        return (LogoInfo(bool(add_logo), POSITIONS.index(position), LANGUAGES.index(language), opacity, content),)
