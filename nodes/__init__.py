"""Node classes: thin adapters between ComfyUI widgets/tensors and the plain-Python code in utils/."""
from .entity_mask_node import VolcengineEntityMask
from .erase_node import VolcengineInpaintErase
from .logo_node import VolcengineLogoInfo
from .subject_mask_node import VolcengineSubjectMask

NODE_CLASS_MAPPINGS: dict[str, type] = {
    "VolcengineInpaintErase": VolcengineInpaintErase,
    "VolcengineLogoInfo": VolcengineLogoInfo,
    "VolcengineSubjectMask": VolcengineSubjectMask,
    "VolcengineEntityMask": VolcengineEntityMask,
}
NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {
    "VolcengineInpaintErase": "Erase & Remove (消除/擦除/去除水印, watermark)",
    "VolcengineLogoInfo": "Watermark / Logo Info (水印)",
    "VolcengineSubjectMask": "Subject Mask / Cutout (抠图 主体分割)",
    "VolcengineEntityMask": "Entity Mask / Segment (智能分割)",
}
# ComfyUI's node search (frontend 1.27) indexes only the node id and the display name, and a word counts only if it
# starts within the first ~30 characters; so the words people search for (in English and Chinese) come first.
# locales/zh/nodeDefs.json has the same words for the Chinese UI; tests/nodes/test_search_words.py checks both.
