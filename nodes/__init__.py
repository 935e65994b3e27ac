"""Node classes: thin adapters between ComfyUI widgets/tensors and the plain-Python code in utils/."""
from .erase_node import VolcengineInpaintErase
from .logo_node import VolcengineLogoInfo
from .subject_mask_node import VolcengineSubjectMask
from . import settings_routes

NODE_CLASS_MAPPINGS: dict[str, type] = {
    "VolcengineInpaintErase": VolcengineInpaintErase,
    "VolcengineLogoInfo": VolcengineLogoInfo,
    "VolcengineSubjectMask": VolcengineSubjectMask,
}
NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {
    "VolcengineInpaintErase": "Erase & Remove (消除/擦除/去除水印, watermark)",
    "VolcengineLogoInfo": "Watermark / Logo Info (水印)",
    "VolcengineSubjectMask": "Subject Mask / Cutout (抠图 主体分割)",
}
# ComfyUI's node search (frontend 1.27) indexes only the node id and the display name, and a word counts only if it
# starts within the first ~30 characters; so the words people search for (in English and Chinese) come first.
# locales/zh/nodeDefs.json has the same words for the Chinese UI; tests/nodes/test_search_words.py checks both.

# Inside ComfyUI: the Settings > Volcengine routes and the stored-credentials path; outside it, nothing.
settings_routes.install()
