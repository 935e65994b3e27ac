"""The stand-in's entity segmentation (entity_seg): routes, documented checks and limits, answers, faults."""
from __future__ import annotations

import numpy as np
import pytest
from helpers.standin import CV, assert_gateway, assert_service_error, b64, encode, post, result_image

from volc_pack.utils.standin import Fault

ENTITY = ("EntitySegment", "2022-08-31")


def shapes_scene(width: int = 320, height: int = 240) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Three shapes of one colour each on a plain background, and where each one is."""
    scene = np.full((height, width, 3), (225, 210, 185), np.uint8)
    boxes = {"red": (20, 100, 20, 120, (200, 40, 40)), "blue": (130, 220, 150, 300, (40, 80, 200)),
             "green": (30, 90, 200, 250, (40, 160, 80))}
    truth = {}
    for name, (y0, y1, x0, x1, colour) in boxes.items():
        scene[y0:y1, x0:x1] = colour
        truth[name] = np.zeros((height, width), bool)
        truth[name][y0:y1, x0:x1] = True
    return scene, truth


def entity_body(image: bytes, **params) -> dict:
    return {"req_key": "entity_seg", "binary_data_base64": [b64(image)], **params}


def decoded(response, index: int = 0) -> np.ndarray:
    return np.asarray(result_image(response, index))


@pytest.mark.parametrize("action", [ENTITY, CV])
def test_index_map_has_one_value_per_shape_and_zero_for_the_background(standin, action):
    scene, truth = shapes_scene()
    response = post(standin, entity_body(encode(scene)), action)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert len(data["binary_data_base64"]) == 1 and data["entity_num"] == [3]
    assert data["ori_width"] == [320] and data["ori_height"] == [240] and len(data["seg_score"]) == 3
    index_map = decoded(response)
    assert index_map.shape == (240, 320) and result_image(response).mode == "L"
    background = ~np.any(list(truth.values()), axis=0)
    assert (index_map[background] == 0).all()
    values = {name: np.unique(index_map[where]).tolist() for name, where in truth.items()}
    assert values == {"blue": [1], "red": [2], "green": [3]}  # largest first
    assert standin.requests[-1].req_key == "entity_seg" and standin.requests[-1].signed


def test_return_formats_follow_the_documentation(standin):
    scene, truth = shapes_scene()
    image = encode(scene)
    layers = post(standin, entity_body(image, return_format=1), ENTITY).json()["data"]["binary_data_base64"]
    assert len(layers) == 3
    answers = {fmt: post(standin, entity_body(image, return_format=fmt), ENTITY) for fmt in (1, 2, 3, 4)}
    assert np.array_equal(decoded(answers[1], 0) == 255, truth["blue"])  # one grey layer per entity
    assert np.array_equal(decoded(answers[2], 0), scene) and decoded(answers[2], 1).max() == 3  # picture + map
    assert len(answers[3].json()["data"]["binary_data_base64"]) == 4  # picture + three layers
    cut, layer = result_image(answers[4], 0), decoded(answers[4], 1)
    assert cut.mode == "RGBA" and np.array_equal(np.asarray(cut)[..., 3] == 255, truth["blue"])
    assert np.array_equal(layer == 255, truth["blue"])  # the largest entity's cut-out and layer


def test_max_entity_keeps_the_largest(standin):
    scene, _ = shapes_scene()
    response = post(standin, entity_body(encode(scene), max_entity=2), ENTITY)
    assert response.json()["data"]["entity_num"] == [2] and decoded(response).max() == 2


ENTITY_CASES = {
    "max_entity 0": ({"max_entity": 0}, 50200, "max_entity"),
    "max_entity 101": ({"max_entity": 101}, 50200, "max_entity"),
    "max_entity float": ({"max_entity": 20.0}, 50200, "max_entity"),
    "return_format 5": ({"return_format": 5}, 50200, "return_format"),
    "refine_mask 2": ({"refine_mask": 2}, 50200, "refine_mask"),
    "return_url": ({"return_url": True}, 50200, "return_url"),
    "two images": ({"binary_data_base64": [b64(encode(shapes_scene()[0]))] * 2}, 50200, "exactly 1"),
    "image_urls": ({"binary_data_base64": None, "image_urls": ["https://example.com/a.jpg"]}, 50200, "image_urls"),
    "too small": ({"binary_data_base64": [b64(encode(np.zeros((127, 300, 3), np.uint8)))]}, 50215, "127"),
    "too large": ({"binary_data_base64": [b64(encode(np.zeros((100 + 28, 4097, 3), np.uint8)))]}, 50215, "4097"),
    "wrong format": ({"binary_data_base64": [b64(encode(shapes_scene()[0], "GIF"))]}, 50215, "format"),
}


@pytest.mark.parametrize("case", sorted(ENTITY_CASES))
def test_documented_limits_are_enforced(standin, case):
    changes, code, word = ENTITY_CASES[case]
    payload = {**entity_body(encode(shapes_scene()[0])), **changes}
    assert_service_error(post(standin, payload, ENTITY), code, 400, word)


def test_base64_limit_is_4_7_million_characters(standin):
    """Exactly 4,700,000 base64 characters pass the size check; one base64 quad more is refused as too large."""
    png = encode(shapes_scene()[0])
    padded = png + b"\0" * (4_700_000 // 4 * 3 - len(png))  # PNG readers ignore bytes after IEND
    assert len(b64(padded)) == 4_700_000
    assert post(standin, entity_body(padded), ENTITY).status_code == 200
    answer = assert_service_error(post(standin, entity_body(padded + b"\0\0\0"), ENTITY), 50205, 400, "4.7")
    assert "4,700,004" in answer["message"]


def test_gateway_checks_apply(standin):
    scene, _ = shapes_scene()
    assert_gateway(post(standin, entity_body(encode(scene)), ENTITY, sk="wrong-secret"),
                   "SignatureDoesNotMatch", 100010, 401, action=ENTITY)
    assert_gateway(post(standin, entity_body(encode(scene)), ("EntitySegment", "2020-08-26")),
                   "InvalidActionOrVersion", 100008, 404, action=("EntitySegment", "2020-08-26"))
    answer = post(standin, {**entity_body(encode(scene)), "req_key": "saliency_seg"}, ENTITY)
    assert_service_error(answer, 50400, 400, "req_key")  # EntitySegment serves entity_seg only


def test_faults_apply_to_entity_calls(standin):
    scene, _ = shapes_scene()
    standin.inject(Fault("empty_mask"), Fault("error", code=50429), Fault("wrong_size"))
    empty = post(standin, entity_body(encode(scene)), ENTITY)
    assert empty.json()["data"]["entity_num"] == [0] and decoded(empty).max() == 0
    assert_service_error(post(standin, entity_body(encode(scene)), ENTITY), 50429, 429)
    assert decoded(post(standin, entity_body(encode(scene)), ENTITY)).shape == (120, 160)
