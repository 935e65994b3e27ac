"""The subject-mask node against the stand-in's saliency segmentation, over real HTTP."""
from __future__ import annotations

import asyncio
import json

import pytest
import torch

import volc_pack
from volc_pack.utils.api.errors import GatewayAuthError
from volc_pack.utils.standin import Fault

NODE = volc_pack.NODE_CLASS_MAPPINGS["VolcengineSubjectMask"]


def subject_on_plain_background(height: int, width: int, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    image = torch.full((batch, height, width, 3), 0.85)
    truth = torch.zeros((height, width), dtype=torch.bool)
    truth[height // 3: 2 * height // 3, width // 3: 2 * width // 3] = True
    image[:, truth] = torch.tensor([0.8, 0.1, 0.1])
    return image, truth


def segment(image, **kwargs):
    options = {"refine_mask": "none", "grow": 0, "timeout": 30.0, **kwargs}
    return asyncio.run(NODE().segment(image, **options))


@pytest.mark.parametrize("height,width", [(240, 320), (100, 90), (300, 5000)])
def test_masks_are_input_sized_inverse_and_find_the_subject(standin_env, height, width):
    image, truth = subject_on_plain_background(height, width, batch=2)
    subject, background, report = segment(image)
    assert subject.shape == background.shape == (2, height, width)
    assert torch.equal(background, 1.0 - subject)
    hits = (subject[0] > 0.5)
    assert (hits & truth).sum() / truth.sum() > 0.8 and (hits & ~truth).sum() / (~truth).sum() < 0.05
    sent = [r.images[0] for r in standin_env.requests]
    assert len(sent) == 2 and all(128 <= min(i.width, i.height) and max(i.width, i.height) <= 4096 for i in sent)
    assert [item["index"] for item in json.loads(report)] == [0, 1]


def test_grow_widens_the_subject(standin_env):
    image, _ = subject_on_plain_background(200, 200)
    plain, _, _ = segment(image)
    grown, _, _ = segment(image, grow=10)
    assert grown.sum() > plain.sum() and torch.all(grown >= plain)


def test_nothing_detected_gives_an_empty_mask_and_a_note(standin_env):
    standin_env.inject(Fault("empty_mask"))
    image, _ = subject_on_plain_background(160, 160)
    subject, background, report = segment(image)
    assert subject.sum() == 0 and background.min() == 1
    assert "nothing" in json.loads(report)[0]["note"]


def test_refine_mask_is_sent_and_errors_surface(standin_env):
    image, _ = subject_on_plain_background(160, 160)
    segment(image, refine_mask="heavy")
    assert standin_env.requests[-1].params["refine_mask"] == 2 and standin_env.requests[-1].params["only_mask"] == 1
    standin_env.inject(Fault("gateway", code="AccessDenied"))
    with pytest.raises(GatewayAuthError, match="IAM"):
        segment(image)
