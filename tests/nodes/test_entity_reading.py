"""utils/entities.py without a server: how answers the documentation leaves open are read, and the hint rule.

The stand-in answers one way only (an 8-bit index map, 0 = background); these cases are the other encodings the
real service might use, built as answer bytes, plus the stroke situations the overlap rule must tell apart."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from volc_pack.utils.api.client import CallResult
from volc_pack.utils.api.errors import ServiceError
from volc_pack.utils.entities import choose_by_hint, entity_labels
from volc_pack.utils.imaging.regions import plan_fit


def png(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(array) if mode is None else Image.fromarray(array, mode)
    image.save(buffer, "PNG")
    return buffer.getvalue()


def blocks(values: tuple[int, int, int], width: int = 200, height: int = 150) -> np.ndarray:
    """Background `values[0]`; a large block of values[1] and a small one of values[2]."""
    out = np.full((height, width), values[0], np.int64)
    out[height // 15: height * 11 // 15, width // 20: width * 11 // 20] = values[1]
    out[height * 12 // 15: height * 14 // 15, width * 3 // 4: width * 19 // 20] = values[2]
    return out


BIG, SMALL = blocks((0, 1, 0)) == 1, blocks((0, 0, 1)) == 1


def read(result: CallResult, width: int = 200, height: int = 150, limit: int = 20):
    return entity_labels(result, plan_fit(width, height, 128, 4096), limit)


def test_zero_is_background_and_values_need_not_be_consecutive():
    labels, how, dropped = read(CallResult(png(blocks((0, 200, 7)).astype(np.uint8))))
    assert np.array_equal(labels == 1, BIG) and np.array_equal(labels == 2, SMALL) and labels.max() == 2
    assert "0 read as background" in how and dropped == 0


def test_entity_num_says_when_zero_is_an_entity_too():
    labels, how, _ = read(CallResult(png(blocks((0, 1, 2)).astype(np.uint8)), fields={"entity_num": [3]}))
    assert labels.max() == 3 and np.array_equal(labels == 1, ~(BIG | SMALL)) and "every value" in how


@pytest.mark.parametrize("encoding", ["palette", "grey as RGB", "colours", "16-bit"])
def test_other_map_encodings_give_the_same_entities(encoding):
    values = blocks((0, 5, 9)).astype(np.uint8)
    if encoding == "palette":
        image = Image.fromarray(values, "L").convert("P")
        data = io.BytesIO()
        image.save(data, "PNG")
        data = data.getvalue()
    elif encoding == "grey as RGB":
        data = png(np.dstack([values] * 3))
    elif encoding == "colours":
        data = png(np.array([[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0], [255, 0, 0], [0] * 3, [0] * 3,
                             [0] * 3, [0, 128, 255]], np.uint8)[values])
    else:
        data = png(values.astype(np.uint16) * 1000)
    labels, _, _ = read(CallResult(data))
    assert np.array_equal(labels == 1, BIG) and np.array_equal(labels == 2, SMALL) and labels.max() == 2


def test_layers_are_read_by_alpha_or_grey_and_sorted_by_area():
    small_rgba = np.zeros((150, 200, 4), np.uint8)
    small_rgba[SMALL] = (10, 200, 30, 255)  # a cut-out: colour where the entity is, transparent elsewhere
    big_grey = np.where(BIG, 255, 0).astype(np.uint8)
    labels, how, _ = read(CallResult(png(small_rgba), more=[png(big_grey)]))
    assert np.array_equal(labels == 1, BIG) and np.array_equal(labels == 2, SMALL) and "2 layers" in how


def test_a_smaller_layer_on_a_larger_one_keeps_its_pixels():
    inner = np.zeros((150, 200), np.uint8)
    inner[40:60, 40:60] = 255  # lies inside the big block
    labels, _, _ = read(CallResult(png(np.where(BIG, 255, 0).astype(np.uint8)), more=[png(inner)]))
    assert (labels[40:60, 40:60] == 2).all() and (labels == 1).sum() == BIG.sum() - 400


def test_a_map_of_another_size_is_resized_without_new_values():
    half = blocks((0, 3, 8), 100, 75).astype(np.uint8)  # what the service would send for a 200x150 request, halved
    labels, how, _ = read(CallResult(png(half)))
    assert set(np.unique(labels).tolist()) == {0, 1, 2} and "resized" in how
    assert (labels == 1).sum() == pytest.approx(BIG.sum(), rel=0.05)


def test_the_map_is_scaled_back_to_the_source_size():
    values = blocks((0, 1, 2), 128, 128).astype(np.uint8)  # the service saw 128x128; the source was 64x64
    labels, _, _ = entity_labels(CallResult(png(values)), plan_fit(64, 64, 128, 4096), 20)
    assert labels.shape == (64, 64) and np.array_equal(labels, blocks((0, 1, 2), 64, 64))


def test_only_the_largest_entities_up_to_the_limit_are_kept():
    values = np.zeros((150, 200), np.uint8)
    for k in range(1, 31):
        values[(k - 1) // 10 * 40: (k - 1) // 10 * 40 + 30, (k - 1) % 10 * 20: (k - 1) % 10 * 20 + k % 10 + 5] = k
    labels, _, dropped = read(CallResult(png(values)), limit=20)
    assert labels.max() == 20 and dropped == 10


def test_an_undecodable_map_is_a_service_error():
    with pytest.raises(ServiceError, match="entity map"):
        read(CallResult(b"\x89PNG\r\n\x1a\nbroken"))


# --- the hint rule -------------------------------------------------------------------------------------------------

def scene() -> tuple[np.ndarray, np.ndarray]:
    """Table 0, a large object 1, a middle one 2, a small one 3 (a pen cap), on 300x200."""
    labels = np.zeros((200, 300), np.uint8)
    labels[20:120, 20:140] = 1
    labels[40:100, 180:260] = 2
    labels[150:160, 200:212] = 3
    return labels, np.bincount(labels.ravel())


def pick(stroke: np.ndarray, overlap: float = 0.25) -> list[int]:
    labels, areas = scene()
    return choose_by_hint(labels, areas, stroke, overlap)[0]


def test_a_fat_dab_over_a_small_object_takes_only_the_object():
    stroke = np.zeros((200, 300), bool)
    stroke[135:175, 185:230] = True  # most of the dab is table, but it covers the whole cap
    assert pick(stroke) == [3]


def test_one_line_through_three_objects_takes_all_three_but_not_the_table():
    stroke = np.zeros((200, 300), bool)
    stroke[60:64, 30:250] = True  # objects 1 and 2, with table between
    stroke[60:160, 204:208] = True  # and down from there onto the cap: a small share of the line, but a third of it
    assert sorted(pick(stroke)) == [1, 2, 3]


def test_half_on_an_object_half_on_the_table_takes_the_object():
    stroke = np.zeros((200, 300), bool)
    stroke[130:136, 40:140] = True  # table
    stroke[100:106, 40:140] = True  # object 1
    assert pick(stroke) == [1]


def test_separate_strokes_count_separately():
    stroke = np.zeros((200, 300), bool)
    stroke[60:64, 30:60] = True  # a short dab on object 1 ...
    stroke[165:195, 10:290] = True  # ... and a long one on the table, far larger
    assert pick(stroke) == [1]  # overall the dab is a small share of the stroke, but it is a stroke of its own


def test_a_map_of_another_shape_is_an_error_not_stretched():
    with pytest.raises(ServiceError, match="not stretched"):
        read(CallResult(png(blocks((0, 1, 2), 150, 200).astype(np.uint8))))  # portrait for a landscape request
