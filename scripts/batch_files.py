"""The batch CLI's files: which images, which mask for each, where results go, how they are read and written.

Inputs are files or folders (PNG/JPEG/WebP, non-recursive unless asked). A mask folder pairs by file name stem, as
IOPaint's batch mode does (photos/cat.jpg <- masks/cat.png). Results are written under a temporary name and renamed,
so a file with the final name is always complete, and the report is appended one line per image in one write.
"""
from __future__ import annotations

import json
import os
import time
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
PART_SUFFIX = ".part"
STALE_PART_SECONDS = 600  # a temporary file this old belongs to a killed run: every write takes seconds at most


class PlanError(Exception):
    """The inputs cannot be planned as given; the message says what to change. Raised before any call."""


class NoMaskError(Exception):
    """An image without a mask file and without transparency: nothing says what to erase."""


@dataclass
class Job:
    index: int
    image: Path
    mask: Path | None          # None: the image's own transparency is the mask
    outputs: list[Path] = field(default_factory=list)
    mask_folder: Path | None = None  # where its mask was looked for, for the message when there is none


# --- planning ----------------------------------------------------------------------------------------------------

def _is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".") and path.is_file()


def _inside(path: Path, folders: list[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved == f or f in resolved.parents for f in folders)


def find_images(inputs: list[Path], recursive: bool, exclude: list[Path]) -> list[tuple[Path, Path]]:
    """(file, sub-folder relative to its input folder) in a stable order. Files named directly are taken as they
    are; folders give their PNG/JPEG/WebP files, minus `exclude` (the output and mask folders)."""
    skip = [f.resolve() for f in exclude]
    found: list[tuple[Path, Path]] = []
    for root in inputs:
        if root.is_file():
            found.append((root, Path()))
        elif root.is_dir():
            files = sorted(p for p in (root.rglob("*") if recursive else root.iterdir())
                           if _is_image_file(p) and not _inside(p.parent, skip))
            if not files:
                more = "" if recursive or not any(p.is_dir() for p in root.iterdir()) else \
                    " (it has sub-folders: add --recursive to include them)"
                raise PlanError(f"{root} holds no PNG, JPEG or WebP images{more}.")
            found += [(p, p.parent.relative_to(root)) for p in files]
        else:
            raise PlanError(f"{root} does not exist.")
    return found


def _mask_index(folder: Path, recursive: bool) -> dict[tuple[Path, str], Path]:
    index: dict[tuple[Path, str], Path] = {}
    for path in sorted(folder.rglob("*") if recursive else folder.iterdir()):
        if not _is_image_file(path):
            continue
        key = (path.parent.relative_to(folder), path.stem)
        if key in index:
            raise PlanError(f"{index[key]} and {path} are both masks for images named {path.stem!r}; "
                            "keep one of them.")
        index[key] = path
    return index


def pair_masks(images: list[tuple[Path, Path]], masks: list[Path], recursive: bool) -> list[Path | None]:
    """One mask (or None: use the image's transparency) per image."""
    for mask in masks:
        if not mask.exists():
            raise PlanError(f"{mask} does not exist.")
    if not masks:
        return [None] * len(images)
    if masks[0].is_dir():
        if len(masks) > 1:
            raise PlanError("give one mask folder, one mask file for all images, or one mask file per image.")
        index = _mask_index(masks[0], recursive)
        return [index.get((rel, path.stem)) for path, rel in images]
    if any(m.is_dir() for m in masks):
        raise PlanError("give one mask folder, one mask file for all images, or one mask file per image.")
    if len(masks) == 1:
        return masks * len(images)
    if len(masks) != len(images):
        raise PlanError(f"give one --mask, or one per image ({len(images)}), or a folder of masks; "
                        f"got {len(masks)}.")
    return list(masks)


def plan_jobs(inputs: list[Path], masks: list[Path], out: Path, variants: int, recursive: bool) -> list[Job]:
    mask_folders = [m for m in masks if m.is_dir()]
    images = find_images(inputs, recursive, [out, *mask_folders])
    paired = pair_masks(images, masks, recursive)
    jobs, owners = [], {}
    for index, ((path, rel), mask) in enumerate(zip(images, paired, strict=True)):
        outputs = [out / rel / f"{path.stem}_v{k}.png" for k in range(1, variants + 1)]
        if outputs[0] in owners:
            raise PlanError(f"{owners[outputs[0]]} and {path} would both be written as {outputs[0].name}; "
                            "rename one, or run them into different --out folders.")
        owners[outputs[0]] = path
        jobs.append(Job(index, path, mask, outputs, mask_folders[0] / rel if mask_folders else None))
    return jobs


def parse_shard(text: str) -> tuple[int, int]:
    """"K/N" -> (K, N): this process takes every N-th image, starting with the K-th (1-based)."""
    k, sep, n = text.partition("/")
    if not (sep and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise ValueError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. 2/4")
    return int(k), int(n)


def shard(jobs: list[Job], k: int, n: int) -> list[Job]:
    """The K-th of N disjoint shares of the planned images (by position in the sorted list), so N processes or
    machines given the same inputs and output folder split the work without overlap."""
    return [job for job in jobs if job.index % n == k - 1]


def outputs_exist(job: Job) -> bool:
    return all(p.is_file() for p in job.outputs)


# --- reading -------------------------------------------------------------------------------------------------------

def _to_float(array: np.ndarray) -> np.ndarray:
    out = np.empty(array.shape, np.float32)
    np.multiply(array, np.float32(1 / 255), out=out, dtype=np.float32)
    return out


def load_image(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Like ComfyUI's LoadImage: RGB float32 [1,H,W,3] in 0..1, and 1 - alpha as [1,H,W] when the file has
    transparency (None when it has none)."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode == "I":  # 16-bit PNG, as LoadImage reads it
            im = im.point(lambda v: v * (1 / 255))
        if im.mode == "P" and "transparency" in im.info:
            im = im.convert("RGBA")
        alpha = np.asarray(im.getchannel("A")) if "A" in im.getbands() else None
        rgb = _to_float(np.asarray(im.convert("RGB")))
    if alpha is None or alpha.min() == 255:
        return rgb[None], None
    return rgb[None], (1.0 - _to_float(alpha))[None]


def load_mask(path: Path) -> np.ndarray:
    """White = erase; a mask file with transparency uses LoadImage's rule (transparent = erase). [1,H,W]."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if "A" in im.getbands() and im.getextrema()[-1][0] < 255:
            return (1.0 - _to_float(np.asarray(im.getchannel("A"))))[None]
        return _to_float(np.asarray(im.convert("L")))[None]


def load_job(job: Job) -> tuple[np.ndarray, np.ndarray]:
    image, own = load_image(job.image)
    if job.mask is not None:
        return image, load_mask(job.mask)
    if own is None:
        where = (f"there is no {job.mask_folder / job.image.stem}.png (or .jpg, .jpeg, .webp)" if job.mask_folder
                 else "no --mask was given")
        raise NoMaskError(f"no mask: {where}, and the image has no transparent pixels to erase.")
    return image, own


# --- writing -------------------------------------------------------------------------------------------------------

def write_atomic(target: Path, write) -> None:
    """write(file) into a temporary name next to target, flushed to disk, then renamed over it: a reader (or a
    re-run after a kill) sees either no file or the complete one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}{PART_SUFFIX}")
    try:
        with open(temp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def save_png(rgb: np.ndarray, target: Path) -> None:
    """uint8 [H,W,3] as PNG, without text chunks (nothing about the run is embedded). zlib's run-length strategy:
    photos hold few long matches, so it is as small as level 4 (within 1%) in about half the time, and the encode
    is the biggest part of a batch's own CPU per image."""
    write_atomic(target, lambda handle: Image.fromarray(rgb).save(handle, format="PNG", compress_level=1,
                                                                  compress_type=zlib.Z_RLE))


def sweep_stale_parts(folders: set[Path]) -> int:
    """Delete temporary files left by killed runs (old enough that no live run can still be writing them)."""
    removed, cutoff = 0, time.time() - STALE_PART_SECONDS
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") and entry.name.endswith(PART_SUFFIX):
                try:
                    if entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)
                        removed += 1
                except OSError:
                    pass
    return removed


class ReportFile:
    """report.jsonl: one JSON line per image, appended with one write so lines never interleave, even when
    several processes share the output folder. report.json (report-KofN.json for a --shard): this run's lines as one
    list, in input order."""

    def __init__(self, out: Path, name: str = "report.json") -> None:
        self.jsonl, self.json = out / "report.jsonl", out / name
        self.run = uuid.uuid4().hex[:12]
        self._fd = os.open(self.jsonl, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def add(self, entry: dict[str, Any]) -> None:
        os.write(self._fd, (json.dumps({"run": self.run, **entry}, ensure_ascii=False) + "\n").encode("utf-8"))

    def close(self) -> None:
        os.close(self._fd)
        entries = []
        with open(self.jsonl, encoding="utf-8") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line cut by a full disk: report.json still gets the rest
                if isinstance(entry, dict) and entry.get("run") == self.run:
                    entries.append(entry)
        entries.sort(key=lambda e: e.get("index", 0))
        text = json.dumps(entries, ensure_ascii=False, indent=1).encode("utf-8")
        write_atomic(self.json, lambda handle: handle.write(text))
