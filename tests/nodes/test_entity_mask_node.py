"""The entity-mask node against the stand-in's entity segmentation, over real HTTP: a rough stroke selects complete
objects, the other selections take what they say, and every request carries exactly the documented fields."""
from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

import volc_pack
from volc_pack.utils.api.errors import GatewayAuthError, InputError, ServiceError
from volc_pack.utils.imaging.masks import grow
from volc_pack.utils.standin import Fault

NODE = volc_pack.NODE_CLASS_MAPPINGS["VolcengineEntityMask"]
HEIGHT, WIDTH = 400, 600
# name: (shape, box, colour); a plain table with separate objects of one colour each, sizes all different
OBJECTS = {
    "laptop": ("rectangle", (150, 70, 420, 250), (70, 76, 86)),
    "mug": ("rounded", (455, 70, 545, 170), (196, 52, 48)),
    "ball": ("ellipse", (70, 270, 150, 350), (60, 140, 210)),
    "note": ("rectangle", (440, 250, 540, 330), (250, 212, 60)),
    "pencil": ("line", (60, 120, 130, 60), (240, 170, 40)),
}
DOCUMENTED_FIELDS = {"req_key", "max_entity", "return_format"}  # plus binary_data_base64, kept out of the records


def desk(height: int = HEIGHT, width: int = WIDTH) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
    """The scene as an IMAGE tensor (scaled to width x height) and each object's true mask."""
    sx, sy = width / WIDTH, height / HEIGHT
    picture = Image.new("RGB", (width, height), (222, 206, 180))
    truth = {}
    for name, (shape, box, colour) in OBJECTS.items():
        box = (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)
        layer = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(layer)
        if shape == "line":
            draw.line(box, fill=255, width=max(3, round(10 * min(sx, sy))))
        elif shape == "ellipse":
            draw.ellipse(box, fill=255)
        elif shape == "rounded":
            draw.rounded_rectangle(box, 12 * min(sx, sy), fill=255)
        else:
            draw.rectangle(box, fill=255)
        picture.paste(colour, mask=layer)
        truth[name] = np.asarray(layer) > 0
    return torch.from_numpy(np.asarray(picture, np.float32) / 255.0)[None], truth


def third_of(obj: np.ndarray, spill: int = 4) -> np.ndarray:
    """A rough stroke over the first third of an object (in x), spilling `spill` px over its outline."""
    xs = np.nonzero(obj)[1]
    core = obj & (np.arange(obj.shape[1])[None, :] <= np.quantile(xs, 1 / 3))
    return grow(core, spill)


def segment(image, hint=None, **kwargs):
    options = {"select": "hint", "overlap": 0.25, "max_entities": 20, "grow": 0, "timeout": 30.0, **kwargs}
    if hint is not None:
        hint = torch.from_numpy(np.asarray(hint, np.float32))
        hint = hint[None] if hint.ndim == 2 else hint
    return asyncio.run(NODE().segment(image, hint=hint, **options))


def selected(mask: torch.Tensor, index: int = 0) -> np.ndarray:
    return mask[index].numpy() > 0.5


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_a_stroke_over_a_third_selects_the_whole_object_and_nothing_else(standin_env, name):
    image, truth = desk()
    stroke = third_of(truth[name])
    assert 1 / 3 <= (stroke & truth[name]).sum() / truth[name].sum() < 0.6 and (stroke & ~truth[name]).any()
    mask, entities, report = segment(image, stroke)
    assert np.array_equal(selected(mask), truth[name])
    assert entities.shape == (len(OBJECTS), HEIGHT, WIDTH)
    item = json.loads(report)[0]
    assert len(item["selected"]) == 1 and item["entities"] == len(OBJECTS)


def test_a_quick_line_across_an_object_selects_it_but_not_the_table(standin_env):
    image, truth = desk()
    line = np.zeros((HEIGHT, WIDTH), bool)
    line[155:160, 120:450] = True  # 5 px across the laptop, over the table at both ends
    assert (line & truth["laptop"]).sum() / truth["laptop"].sum() < 0.05
    mask, _, _ = segment(image, line)
    assert np.array_equal(selected(mask), truth["laptop"])


def test_grazing_an_object_from_the_table_selects_nothing(standin_env):
    image, truth = desk()
    stroke = np.zeros((HEIGHT, WIDTH), bool)
    stroke[355:370, 20:200] = True  # along the table below the ball, touching its lowest pixels
    stroke |= grow(truth["ball"], 3) & ~truth["ball"] & (np.arange(HEIGHT)[:, None] > 340)
    assert (stroke & truth["ball"]).sum() == 0
    stroke[348:352, 105:115] = True  # the tip of the stroke on the ball
    mask, _, report = segment(image, stroke)
    assert not selected(mask).any()
    assert "too little" in json.loads(report)[0]["note"]


@pytest.mark.parametrize("select, wanted", [("all", list(OBJECTS)), ("largest", ["laptop"]),
                                            ("all but largest", [n for n in OBJECTS if n != "laptop"])])
def test_all_largest_and_all_but_largest(standin_env, select, wanted):
    image, truth = desk()
    mask, entities, report = segment(image, select=select)
    assert np.array_equal(selected(mask), np.any([truth[n] for n in wanted], axis=0))
    assert np.array_equal(entities[0].numpy() > 0.5, truth["laptop"])  # the batch is largest first
    areas = [float(e.sum()) for e in entities]
    assert areas == sorted(areas, reverse=True)
    assert json.loads(report)[0]["entities"] == len(OBJECTS)


def test_every_request_has_exactly_the_documented_fields(standin_env):
    image, truth = desk()
    segment(image, third_of(truth["mug"]), max_entities=7)
    segment(image, select="all")
    assert standin_env.count("entity_seg") == 2
    for request in standin_env.requests:
        assert (request.action, request.version, request.signed, request.http_status) == \
            ("EntitySegment", "2022-08-31", True, 200)
        assert set(request.params) == DOCUMENTED_FIELDS and request.params["return_format"] == 0
        assert len(request.images) == 1
    assert [r.params["max_entity"] for r in standin_env.requests] == [7, 20]


@pytest.mark.parametrize("height, width", [(90, 100), (300, 5000), (4200, 600)])
def test_images_are_fitted_to_the_limits_and_masks_come_back_at_input_size(standin_env, height, width):
    image, truth = desk(height, width)
    mask, entities, _ = segment(image, third_of(truth["note"], spill=1))
    sent = standin_env.requests[-1].images[0]
    assert 128 <= min(sent.width, sent.height) and max(sent.width, sent.height) <= 4096
    assert mask.shape == (1, height, width) and entities.shape[1:] == (height, width)
    hit = selected(mask)  # the whole note, exact up to the resampling at its outline
    assert not (grow(truth["note"], -2) & ~hit).any() and not (hit & ~grow(truth["note"], 2)).any()


def test_a_large_noisy_image_stays_under_the_base64_limit(standin_env):
    rng = np.random.default_rng(3)
    image = torch.from_numpy(rng.random((1, 2600, 2600, 3), dtype=np.float32))
    segment(image, select="all")
    request = standin_env.requests[-1]
    assert request.http_status == 200 and request.body_size < 4_700_000 + 200


def test_a_batch_gets_one_selection_per_image(standin_env):
    image, truth = desk()
    batch = torch.cat([image, torch.flip(image, dims=[2])])
    hint = np.stack([third_of(truth["mug"]), third_of(np.flip(truth["ball"], axis=1))])
    mask, entities, report = segment(batch, hint)
    assert np.array_equal(selected(mask, 0), truth["mug"])
    assert np.array_equal(selected(mask, 1), np.flip(truth["ball"], axis=1))
    items = json.loads(report)
    assert entities.shape[0] == 2 * len(OBJECTS) and [i["entity_slots"] for i in items] == [[0, 5], [5, 10]]


@pytest.mark.parametrize("hint", [None, np.zeros((HEIGHT, WIDTH)), np.zeros((64, 64))])
def test_no_hint_gives_an_empty_mask_and_a_note(standin_env, hint):
    image, _ = desk()
    mask, entities, report = segment(image, hint)
    assert not selected(mask).any() and entities.shape[0] == len(OBJECTS)
    assert "hint is empty" in json.loads(report)[0]["note"]


def test_nothing_found_is_an_empty_mask_and_a_note(standin_env):
    standin_env.inject(Fault("empty_mask"))
    image, truth = desk()
    mask, entities, report = segment(image, third_of(truth["mug"]))
    assert mask.shape == (1, HEIGHT, WIDTH) and mask.sum() == 0
    assert entities.shape == (1, HEIGHT, WIDTH) and entities.sum() == 0
    assert "no entity" in json.loads(report)[0]["note"]


def test_grow_widens_the_selection(standin_env):
    image, truth = desk()
    plain, _, _ = segment(image, third_of(truth["ball"]))
    grown, _, _ = segment(image, third_of(truth["ball"]), grow=6)
    assert torch.all(grown >= plain) and grown.sum() > plain.sum()


@pytest.mark.parametrize("widget, value", [("select", "everything"), ("overlap", 0.0), ("max_entities", 101),
                                           ("grow", 1.5), ("timeout", 1.0)])
def test_bad_widget_values_are_named_before_any_call(standin_env, widget, value):
    image, _ = desk(160, 240)
    with pytest.raises(InputError, match=widget):
        segment(image, **{widget: value})
    assert standin_env.count() == 0


def test_service_errors_surface(standin_env):
    standin_env.inject(Fault("gateway", code="AccessDenied"))
    image, _ = desk(160, 240)
    with pytest.raises(GatewayAuthError):
        segment(image, select="all")


@pytest.mark.parametrize("fault", [Fault("bad_base64"), Fault("truncated_json"), Fault("malformed", shape="not_image"),
                                   Fault("malformed", shape="data_null"), Fault("wrong_size")])
def test_broken_answers_are_one_sentence_or_scaled_back(standin_env, fault):
    standin_env.inject(fault)
    image, truth = desk()
    if fault.kind == "wrong_size":  # the index map at half size: read and scaled back, the object still whole
        mask, _, report = segment(image, third_of(truth["mug"]))
        hit = selected(mask)  # up to the coarser outline of a half-size map
        assert "resized" in json.loads(report)[0]["read_as"]
        assert not (grow(truth["mug"], -2) & ~hit).any() and not (hit & ~grow(truth["mug"], 2)).any()
        return
    with pytest.raises(ServiceError) as caught:
        segment(image, select="all")
    assert "\n" not in str(caught.value) and "Traceback" not in str(caught.value)
