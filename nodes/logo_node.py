"""VolcengineLogoInfo: the API's optional watermark settings, as one small node feeding the eraser."""
from __future__ import annotations

from .prompt_check import HIDDEN_INPUT, RefusesInvalidInputs, refuse
from ..utils.api.client import LogoInfo
from ..utils.specs import LOGO_INFO, LOGO_TEXT_LIMIT, widgets
from ..utils.validate import text


class VolcengineLogoInfo(RefusesInvalidInputs):
    DESCRIPTION = ("Watermark settings for Volcengine Inpainting (the API's logo_info). Connect to the eraser's "
                   "logo_info input; leave it unconnected for no watermark.")
    CATEGORY = "Volcengine/inpainting"
    RETURN_TYPES = ("VOLC_LOGO_INFO",)
    RETURN_NAMES = ("logo_info",)
    OUTPUT_TOOLTIPS = ("Watermark settings for the eraser's logo_info input.",)
    FUNCTION = "build"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": widgets(LOGO_INFO), "hidden": dict(HIDDEN_INPUT)}

    def build(self, add_logo: bool, position: str, language: str, opacity: float, logo_text_content: str,
              invalid_inputs=None):
        refuse(invalid_inputs)
        position, language = LOGO_INFO["position"].parse(position), LOGO_INFO["language"].parse(language)
        opacity = float(LOGO_INFO["opacity"].check(opacity))
        content = text("logo_text_content", logo_text_content, limit=LOGO_TEXT_LIMIT)
        return (LogoInfo(LOGO_INFO["add_logo"].check(add_logo), position, language, opacity, content),)
