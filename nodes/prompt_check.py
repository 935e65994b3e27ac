"""Text booleans from headless clients ("false", "yes", 2) must not read as true.

ComfyUI turns a BOOLEAN widget's JSON value into a bool with bool() while it validates a prompt, before any node
code runs, so "false" reaches a node as True. Only PromptServer's on-prompt hook sees the prompt earlier:
`mark_invalid_booleans` checks every BOOLEAN widget of our nodes there (utils/validate.flag) and writes what is wrong
into the node's hidden `invalid_inputs` input, which ComfyUI passes through untouched. The node's VALIDATE_INPUTS
then fails the prompt with that sentence (POST /prompt answers 400 with node_errors naming the widget), and the node
function refuses it again should a caller skip validation. Plain calls (tests, the CLI) check each value themselves.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..utils.api.errors import InputError
from ..utils.validate import flag

HIDDEN = "invalid_inputs"
HIDDEN_INPUT = {HIDDEN: "VOLC_INVALID_INPUTS"}  # a type ComfyUI does not fill itself: it carries our note unchanged


def problems(node_class: type, inputs: Mapping[str, Any]) -> list[str]:
    """One sentence per BOOLEAN widget of `node_class` whose value in an API-format `inputs` is not a boolean."""
    found = []
    spec = node_class.INPUT_TYPES()
    for section in ("required", "optional"):
        for name, widget in spec.get(section, {}).items():
            if widget[0] != "BOOLEAN" or name not in inputs:
                continue
            value = inputs[name]
            if isinstance(value, dict) and "__value__" in value:  # ComfyUI unwraps this form
                value = value["__value__"]
            if isinstance(value, list):  # a link from another node's output
                continue
            try:
                flag(name, value)
            except InputError as exc:
                found.append(str(exc))
    return found


def mark_invalid_booleans(json_data: Any, mappings: Mapping[str, type]) -> Any:
    """The on-prompt hook: note bad BOOLEAN values of our nodes in their hidden input; returns json_data."""
    prompt = json_data.get("prompt") if isinstance(json_data, dict) else None
    if not isinstance(prompt, dict):
        return json_data
    for node in prompt.values():
        kind = node.get("class_type") if isinstance(node, dict) else None
        node_class = mappings.get(kind) if isinstance(kind, str) else None
        inputs = node.get("inputs") if node_class is not None else None
        if not isinstance(inputs, dict) or HIDDEN not in node_class.INPUT_TYPES().get("hidden", {}):
            continue
        inputs.pop(HIDDEN, None)  # only this hook may set it
        found = problems(node_class, inputs)
        if found:
            inputs[HIDDEN] = " ".join(found)
    return json_data


class RefusesInvalidInputs:
    """Mixed into the nodes with BOOLEAN widgets; their INPUT_TYPES add HIDDEN_INPUT to "hidden"."""

    @classmethod
    def VALIDATE_INPUTS(cls, invalid_inputs=None):
        return invalid_inputs if invalid_inputs else True


def refuse(invalid_inputs: object) -> None:
    """Raise what the on-prompt hook found, for a run that skipped ComfyUI's validation."""
    if invalid_inputs:
        raise InputError(str(invalid_inputs)[:1000])  # already sentences with their hints
