"""Node classes: thin adapters between ComfyUI widgets/tensors and the plain-Python code in utils/."""
NODE_CLASS_MAPPINGS: dict[str, type] = {}
NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {}
