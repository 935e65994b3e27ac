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
    "VolcengineInpaintErase": "Volcengine Inpainting Erase (涂抹消除)",
    "VolcengineLogoInfo": "Volcengine Logo Info (水印)",
    "VolcengineSubjectMask": "Volcengine Subject Mask (主体分割)",
    "VolcengineEntityMask": "Volcengine Entity Mask (智能分割)",
}
