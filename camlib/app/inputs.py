"""The images the app explains: the sample photos and uploads, decoded through :func:`camlib.images.load_image_with_notes`."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st
from PIL import Image

from camlib import cache_limits
from camlib.errors import CamlibError, ImageLoadError
from camlib.images import MAX_MEGAPIXELS, SUPPORTED_FORMATS, SUPPORTED_NAMES, LoadedImage, load_image_with_notes
from camlib.lru import BoundedCache
from camlib.resources import resource_path

PHOTOS_DIR: Path = resource_path("photos")  # package data: pytorch-grad-cam's MIT photos, with the licence notice

EXTENSIONS = {"PNG": ("png",), "JPEG": ("jpg", "jpeg"), "WEBP": ("webp",), "BMP": ("bmp",), "GIF": ("gif",), "TIFF": ("tif", "tiff")}
IMAGE_TYPES = [extension for name in SUPPORTED_FORMATS for extension in EXTENSIONS[name]]  # what camlib.images reads
IMAGE_UPLOAD_LIMIT_MB = 200  # per image; state dicts may use the server's maxUploadSize (.streamlit/config.toml)


@dataclass(frozen=True)
class Sample:
    label: str
    source: str  # "skimage:NAME" (shipped with scikit-image) or "photo:FILE" (camlib/data/photos, shipped with camlib)
    classes: tuple[int, ...] = ()  # ImageNet classes worth explaining in this photo
    instances: int | None = None  # how many objects of classes[0] it shows


SAMPLES: tuple[Sample, ...] = (
    Sample("Cat: chelsea (scikit-image)", "skimage:chelsea", (281, 285)),
    Sample("Coffee cup: coffee (scikit-image)", "skimage:coffee", (967, 968)),
    Sample("Rocket: rocket (scikit-image)", "skimage:rocket", (657, 812)),
    Sample("Dog and cat (pytorch-grad-cam)", "photo:dog_and_cat.png", (243, 281)),
    Sample("Six dogs (pytorch-grad-cam)", "photo:dogs.png", (231,), instances=6),
    Sample("Two horses (pytorch-grad-cam)", "photo:horses.jpg", (339,), instances=2),
    Sample("Five puppies (pytorch-grad-cam)", "photo:puppies.jpg", (208,), instances=5),
)


def default_class(sample: Sample | None, top: list[tuple[int, str, float]]) -> int:
    """The class a page explains first: the model's top-1, unless the photo is a sample whose known classes
    do not include it (then the sample's first class, e.g. the horses' "sorrel" when the model says
    "Bouvier des Flandres")."""
    top_1 = top[0][0]
    if sample is None or not sample.classes or top_1 in sample.classes:
        return top_1
    return sample.classes[0]


def available_samples() -> list[Sample]:
    """The samples whose photo is here: all of them in an intact install (the photos are package data)."""
    return [sample for sample in SAMPLES if not sample.source.startswith("photo:") or (PHOTOS_DIR / sample.source[6:]).is_file()]


def sample_by_label(label: str) -> Sample:
    for sample in SAMPLES:
        if sample.label == label:
            return sample
    raise KeyError(label)


@dataclass(frozen=True)
class ImageInput:
    """An image the app explains: its name, the SHA-256 of its bytes (the cache key) and the decoded RGB image."""

    name: str
    digest: str
    image: Image.Image = field(repr=False, compare=False)
    sample: Sample | None = None
    notes: tuple[str, ...] = ()  # what the loader did, e.g. "only the first frame of an animated GIF is used"


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


DECODED: BoundedCache[LoadedImage] = BoundedCache(cache_limits.DECODED_IMAGES, cache_limits.DECODED_IMAGES_BYTES)


def _decoded(digest: str, name: str, _data: bytes) -> LoadedImage:
    """The decoded image, shared by every session (an upload may have up to 50 megapixels)."""
    return DECODED.get((digest, name), lambda: load_image_with_notes(_data, name=name))


def image_from_bytes(data: bytes, name: str, sample: Sample | None = None) -> ImageInput:
    """Decode uploaded or sample bytes; raises :class:`ImageLoadError` with a message for people."""
    if not data:
        raise ImageLoadError(f"{name} is empty (0 bytes).")
    digest = digest_of(data)
    loaded = _decoded(digest, name, data)
    return ImageInput(name, digest, loaded.image, sample, tuple(loaded.notes))


def read_uploaded_image(data: bytes, name: str) -> tuple[ImageInput | None, str | None]:
    """The image, or the reason it cannot be read: never an exception."""
    try:
        return image_from_bytes(data, name), None
    except CamlibError as error:
        return None, str(error)


def read_uploaded_images(files: Iterable[tuple[str, bytes]]) -> tuple[list[ImageInput], list[str]]:
    """The readable images among ``(name, bytes)`` pairs, and the reason for each one that is not."""
    images, problems = [], []
    for name, data in files:
        image, error = read_uploaded_image(data, name)
        if error:
            problems.append(error)
        else:
            images.append(image)
    return images, problems


@st.cache_data(max_entries=cache_limits.SAMPLE_FILES, show_spinner=False)
def sample_bytes(source: str) -> bytes:
    """The bytes of a sample: scikit-image photos are encoded as PNG at run time, camlib's photos read as they are."""
    kind, name = source.split(":", 1)
    if kind == "photo":
        return (PHOTOS_DIR / name).read_bytes()
    import skimage.data

    buffer = io.BytesIO()
    Image.fromarray(getattr(skimage.data, name)()).save(buffer, format="PNG")
    return buffer.getvalue()


def sample_input(sample: Sample) -> ImageInput:
    return image_from_bytes(sample_bytes(sample.source), sample.label, sample)


def image_formats_text() -> str:
    """The formats the image uploaders take, from :data:`camlib.images.SUPPORTED_FORMATS` (the one list): "PNG, JPEG, WebP, …"."""
    return SUPPORTED_NAMES


def upload_limit_text() -> str:
    return f"{IMAGE_UPLOAD_LIMIT_MB} MB and {MAX_MEGAPIXELS} megapixels per image"


PAIR_SAMPLE = "Dog and cat (pytorch-grad-cam)"  # the sample with two classes, offered on the multiple-objects page


def sample_to_offer(current: ImageInput, label: str = PAIR_SAMPLE) -> Sample | None:
    """The sample a page offers a button for: ``label``, when it is on this machine and not the current image."""
    offered = next((sample for sample in available_samples() if sample.label == label), None)
    return offered if offered is not None and current.sample != offered else None


def samples_with_instances() -> dict[str, Sample]:
    """The samples whose objects of one class were counted, by label."""
    return {sample.label: sample for sample in available_samples() if sample.instances}


def counted_instances(image: ImageInput) -> int | None:
    """How many objects of its first class a sample shows (counted by eye); ``None`` for an upload."""
    return image.sample.instances if image.sample else None


def set_note(uploaded: list[ImageInput]) -> str | None:
    """What a set of images is made of, when it is not the uploads."""
    return None if uploaded else "No images uploaded: the set is the built-in samples."


def images_or_samples(images: list[ImageInput]) -> list[ImageInput]:
    """The uploaded images, or every sample when none was uploaded (a set to evaluate)."""
    return images or [sample_input(sample) for sample in available_samples()]
