"""ThumbHash placeholders (realtime_uploads.processing.image.placeholder) against Evan Wallace's reference.

The reference is the npm package ``thumbhash`` (``make test`` installs it into ``.venv/npm``), run under node:
our encoder's hashes are compared with the reference encoder's, and decoded with the reference decoder, which
is what browsers run. Without node or the package the comparisons skip, except on CI
(``REALTIME_UPLOADS_REQUIRE_SERVICES=1``), where that is a failure.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from realtime_uploads.core.variants import VariantSpec
from realtime_uploads.processing.image import render as image_module
from realtime_uploads.processing.image.placeholder import MAX_SIDE, dominant_color, placeholder, rgba_to_thumbhash
from realtime_uploads.processing.image.render import render_variants
from tests.images import encode, quadrants
from tests.node import node_binary

ROOT = Path(__file__).resolve().parents[4]
REFERENCE = ROOT / ".venv" / "npm" / "node_modules" / "thumbhash" / "thumbhash.js"

# One node process answers a list of jobs: {"encode": [w, h, rgba]} or {"decode": hash}, all base64.
_DRIVER = """
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
const th = await import(pathToFileURL(process.argv[1]).href)
const b64 = bytes => Buffer.from(bytes).toString('base64')
const jobs = JSON.parse(readFileSync(0, 'utf8'))
process.stdout.write(JSON.stringify(jobs.map(job => {
  if (job.encode) {
    const [w, h, rgba] = job.encode
    return b64(th.rgbaToThumbHash(w, h, Uint8Array.from(Buffer.from(rgba, 'base64'))))
  }
  const hash = Uint8Array.from(Buffer.from(job.decode, 'base64'))
  const { w, h, rgba } = th.thumbHashToRGBA(hash)
  return { w, h, rgba: b64(rgba), average: th.thumbHashToAverageRGBA(hash),
           ratio: th.thumbHashToApproximateAspectRatio(hash) }
})))
"""


def _node() -> str:
    """node, with the npm package thumbhash beside it (make test installs it); skips (fails on CI) without them."""
    node = node_binary("the ThumbHash reference comparison")
    if not REFERENCE.exists():
        message = f"the npm package thumbhash is not at {REFERENCE} (make test installs it from npm)"
        if os.environ.get("REALTIME_UPLOADS_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return node


@pytest.fixture(scope="module")
def reference():
    """``reference(jobs)``: the reference's answers to a list of jobs, from one node process."""
    node = _node()

    def run(jobs: list[dict]) -> list:
        result = subprocess.run([node, "--input-type=module", "-e", _DRIVER, str(REFERENCE)],
                                input=json.dumps(jobs), capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr[-4000:]
        return json.loads(result.stdout)

    return run


def reference_hashes(reference, images: list[Image.Image]) -> list[bytes]:
    answers = reference([{"encode": [im.width, im.height, base64.b64encode(im.tobytes()).decode()]}
                         for im in images])
    return [base64.b64decode(answer) for answer in answers]


def reference_decode(reference, hashes: list[bytes]) -> list[dict]:
    answers = reference([{"decode": base64.b64encode(h).decode()} for h in hashes])
    for answer in answers:
        answer["image"] = Image.frombytes("RGBA", (answer["w"], answer["h"]), base64.b64decode(answer["rgba"]))
    return answers


# --- images ---------------------------------------------------------------------------------------


def textured(width: int, height: int, *, alpha: bool, seed: str) -> Image.Image:
    """A gradient under deterministic noise (a "photo" with detail everywhere); alpha varying, or opaque."""
    noise = Image.frombytes("RGBA", (width, height), hashlib.shake_256(seed.encode()).digest(width * height * 4))
    ramp = Image.linear_gradient("L").resize((width, height))
    base = Image.merge("RGBA", (ramp, ramp.transpose(Image.Transpose.ROTATE_90).resize((width, height)),
                                Image.new("L", (width, height), 90), ramp))
    im = Image.blend(base, noise, 0.35)
    if not alpha:
        im.putalpha(255)
    return im


def structured(width: int, height: int, *, alpha: bool) -> Image.Image:
    """Flat quadrants: symmetric, so many DCT terms are exactly 0 and land on a rounding boundary."""
    im = quadrants(width, height).convert("RGBA")
    if alpha:
        im.putalpha(Image.linear_gradient("L").resize((width, height)))
    return im


SHAPES = [(1, 1), (100, 100), (100, 60), (60, 100), (37, 23), (23, 37), (64, 64), (100, 40), (30, 100)]
TEXTURED = [textured(w, h, alpha=a, seed=f"{w}x{h}{a}") for w, h in SHAPES for a in (False, True)]
STRUCTURED = [structured(w, h, alpha=a) for w, h in SHAPES if w * h > 1 for a in (False, True)]


def average_colour(im: Image.Image) -> tuple[float, float, float]:
    """Mean RGB weighted by alpha (what ThumbHash's DC terms hold), 0..255."""
    pixels = list(zip(*(im.convert("RGBA").getchannel(c).tobytes() for c in "RGBA"), strict=True))
    weight = sum(p[3] for p in pixels) or 1
    return tuple(sum(p[i] * p[3] for p in pixels) / weight for i in range(3))


def mean_colour(im: Image.Image) -> tuple[float, float, float]:
    """Mean RGB, unweighted: a decoded ThumbHash's DC colour (its AC terms sum to 0 over the image)."""
    return tuple(sum(band.tobytes()) / (im.width * im.height) for band in im.convert("RGB").split())


def mean_alpha(im: Image.Image) -> float:
    alpha = im.convert("RGBA").getchannel("A").tobytes()
    return sum(alpha) / len(alpha) / 255


# --- the hash layout (the reference decoder's reading of it) --------------------------------------


def channels(hash_: bytes) -> list[tuple[int, int]]:
    """``(quantized AC scale, number of AC nibbles)`` of L, P, Q (and A), in the order their nibbles follow."""
    header24, header16 = int.from_bytes(hash_[:3], "little"), int.from_bytes(hash_[3:5], "little")
    has_alpha, landscape = header24 >> 23, header16 >> 15
    lx = max(3, (5 if has_alpha else 7) if landscape else header16 & 7)
    ly = max(3, header16 & 7 if landscape else (5 if has_alpha else 7))

    def count(nx, ny):
        return sum(1 for cy in range(ny) for cx in range(0 if cy else 1, nx) if cx * ny < nx * (ny - cy))

    found = [((header24 >> 18) & 31, count(lx, ly)), ((header16 >> 3) & 63, count(3, 3)),
             ((header16 >> 9) & 63, count(3, 3))]
    if has_alpha:
        found.append((hash_[5] >> 4, count(5, 5)))
    return found


def nibbles(hash_: bytes) -> list[int]:
    start = 6 if hash_[2] & 0x80 else 5
    return [n for byte in hash_[start:] for n in (byte & 15, byte >> 4)]


def assert_same_hash_within_a_rounding_step(ours: bytes, theirs: bytes) -> None:
    """Same length and header; each AC nibble a decoder uses within one step of the reference's.

    A channel whose AC scale quantizes to 0 is multiplied by 0 when decoded: its nibbles are the
    normalised float noise of an all-zero DCT, meaningless in both encoders, and not compared.
    """
    assert len(ours) == len(theirs), (ours.hex(), theirs.hex())
    header = 6 if theirs[2] & 0x80 else 5
    assert ours[:header] == theirs[:header], (ours.hex(), theirs.hex())
    at, our_nibbles, their_nibbles = 0, nibbles(ours), nibbles(theirs)
    for scale, count in channels(theirs):
        if scale:
            pairs = list(zip(our_nibbles[at:at + count], their_nibbles[at:at + count], strict=True))
            assert all(abs(a - b) <= 1 for a, b in pairs), (ours.hex(), theirs.hex())
        at += count
    assert our_nibbles[at:] == their_nibbles[at:] == [0] * (len(their_nibbles) - at)  # the odd nibble's padding


# --- the encoder against the reference --------------------------------------------------------------


def test_hashes_of_detailed_images_are_the_reference_encoders_byte_for_byte_or_nearly(reference):
    theirs = reference_hashes(reference, TEXTURED)
    ours = [rgba_to_thumbhash(im.width, im.height, im.tobytes()) for im in TEXTURED]
    for our, their in zip(ours, theirs, strict=True):
        assert_same_hash_within_a_rounding_step(our, their)
    same = sum(a == b for our, their in zip(ours, theirs, strict=True) for a, b in zip(our, their, strict=True))
    assert same >= 0.95 * sum(len(h) for h in theirs)  # a rounding boundary is rare on detailed content
    assert {h[2] >> 7 for h in ours} == {0, 1}  # both opaque and alpha hashes were compared


def test_hashes_of_flat_symmetric_images_differ_from_the_reference_by_at_most_a_rounding_step(reference):
    theirs = reference_hashes(reference, STRUCTURED)
    ours = [rgba_to_thumbhash(im.width, im.height, im.tobytes()) for im in STRUCTURED]
    for our, their in zip(ours, theirs, strict=True):
        assert_same_hash_within_a_rounding_step(our, their)
    # ...and the reference decoder shows the same picture of either: a step of one term (of up to 15 levels
    # in a channel, twice that near the edges where its cosines peak) here and there, a few levels on average.
    for our, their in zip(reference_decode(reference, ours), reference_decode(reference, theirs), strict=True):
        assert our["image"].size == their["image"].size
        differences = [abs(a - b) for a, b in zip(our["image"].tobytes(), their["image"].tobytes(), strict=True)]
        assert max(differences) <= 40 and sum(differences) / len(differences) <= 5


def test_a_flat_colour_decodes_to_that_colour_like_the_reference_hash(reference):
    flat = [Image.new("RGBA", size, colour) for size, colour in
            (((100, 100), (10, 200, 30, 255)), ((40, 70), (255, 0, 0, 128)), ((7, 9), (30, 60, 220, 255)))]
    ours = [rgba_to_thumbhash(im.width, im.height, im.tobytes()) for im in flat]
    theirs = reference_hashes(reference, flat)
    for im, our, their, decoded in zip(flat, ours, theirs, reference_decode(reference, ours), strict=True):
        assert_same_hash_within_a_rounding_step(our, their)
        expected = im.getpixel((0, 0))
        extrema = decoded["image"].getextrema()
        for (low, high), value, step in zip(extrema, expected, (6, 6, 6, 9), strict=True):  # alpha has 4 bits
            assert value - step <= low <= high <= value + step, (extrema, expected)


def test_the_reference_decoder_gives_back_the_average_colour_alpha_and_aspect_of_our_hash(reference):
    images = [im for im in TEXTURED + STRUCTURED if min(im.size) >= 7]  # 1 x 1: aliased (see the pipeline's)
    ours = [rgba_to_thumbhash(im.width, im.height, im.tobytes()) for im in images]
    for im, decoded in zip(images, reference_decode(reference, ours), strict=True):
        expected = average_colour(im)
        average = decoded["average"]
        assert all(abs(average[c] * 255 - e) <= 6 for c, e in zip("rgb", expected, strict=True)), (average, expected)
        assert abs(average["a"] - mean_alpha(im)) <= 1 / 30 + 1e-9  # four bits of alpha
        shown = mean_colour(decoded["image"])
        assert all(abs(s - e) <= 12 for s, e in zip(shown, expected, strict=True)), (shown, expected, im.size)
        # The aspect is stored as the luminance grid (7 or 5 cells on the longer side, rounded on the other).
        cells = 5 if mean_alpha(im) < 1 else 7
        ratio, exact = decoded["ratio"], im.width / im.height
        if im.width > im.height:
            assert ratio > 1 and abs(1 / ratio - 1 / exact) <= 0.5 / cells + 1e-9, (ratio, im.size)
        else:
            assert ratio <= 1 and abs(ratio - exact) <= 0.5 / cells + 1e-9, (ratio, im.size)
        # The decoded placeholder has the picture's orientation: 32 px on its longer side.
        assert max(decoded["image"].size) == 32
        assert (decoded["image"].width >= decoded["image"].height) == (im.width >= im.height)


def test_where_the_colours_are_survives_the_reference_decoder(reference):
    im = Image.new("RGBA", (90, 60), (220, 20, 20, 255))
    im.paste((20, 40, 230, 255), (45, 0, 90, 60))  # red left half, blue right half
    [decoded] = reference_decode(reference, [rgba_to_thumbhash(90, 60, im.tobytes())])
    shown = decoded["image"]
    left, right = shown.getpixel((3, shown.height // 2)), shown.getpixel((shown.width - 4, shown.height // 2))
    assert left[0] > left[2] + 80 and right[2] > right[0] + 80, (left, right)


@pytest.mark.parametrize(("width", "height", "length", "message"), [
    (MAX_SIDE + 1, 10, None, "doesn't fit in 100x100"), (10, MAX_SIDE + 1, None, "doesn't fit in 100x100"),
    (0, 10, 0, "doesn't fit"), (4, 4, 4 * 4 * 4 - 1, "expected 64 bytes"), (4, 4, 4 * 4 * 3, "expected 64 bytes"),
])
def test_images_over_100_pixels_or_rgba_of_the_wrong_length_are_refused(width, height, length, message):
    rgba = bytes(width * height * 4 if length is None else length)
    with pytest.raises(ValueError, match=message):
        rgba_to_thumbhash(width, height, rgba)


def test_100_pixels_a_side_is_within_the_limit():
    hash_ = rgba_to_thumbhash(MAX_SIDE, MAX_SIDE, bytes(MAX_SIDE * MAX_SIDE * 4))  # all transparent
    assert hash_[2] & 0x80 and len(hash_) == 6 + -(-sum(count for _, count in channels(hash_)) // 2)


def test_a_large_image_is_reduced_before_hashing_and_keeps_its_average():
    im = textured(100, 100, alpha=False, seed="large").resize((900, 600))
    hash_, colour = placeholder(im.convert("RGB"))
    data = base64.b64decode(hash_)
    assert not data[2] & 0x80  # opaque RGB: no alpha channel in the hash
    header24 = int.from_bytes(data[:3], "little")
    luminance = (header24 & 63) / 63
    assert abs(luminance - sum(average_colour(im)) / 3 / 255) <= 1 / 63 + 0.02
    assert colour.startswith("#") and len(colour) == 7


# --- through the pipeline -------------------------------------------------------------------------


def render(data: bytes, *specs: VariantSpec):
    return render_variants(io.BytesIO(data), specs, max_pixels=10**7, allowed_formats=("JPEG", "PNG", "WEBP"))


def test_the_placeholder_of_a_photo_decodes_to_its_average_colour(reference):
    photo = textured(100, 100, alpha=False, seed="photo").resize((1200, 800)).convert("RGB")
    data = encode(photo, "JPEG", quality=92)
    original, _ = render(data, VariantSpec("large", 600, 600, "JPEG"), VariantSpec("thumb", 120, 120, "WEBP"))
    [decoded] = reference_decode(reference, [base64.b64decode(original.placeholder)])
    expected = average_colour(Image.open(io.BytesIO(data)))
    for shown in (average_colour(decoded["image"]), tuple(decoded["average"][c] * 255 for c in "rgb")):
        assert all(abs(s - e) <= 10 for s, e in zip(shown, expected, strict=True)), (shown, expected)
    assert 1.3 <= decoded["ratio"] <= 1.75  # 1200 x 800 is 1.5: the grid holds 7 x 4 or 7 x 5


def test_the_colour_is_the_dominant_one_not_the_average():
    im = Image.new("RGB", (200, 100), (30, 120, 200))
    im.paste((240, 200, 20), (140, 0, 200, 100))  # 70 % blue, 30 % yellow: the average is a grey-green
    original, _ = render(encode(im, "PNG"), VariantSpec("thumb", 100, 100, "PNG"))
    assert close_hex(original.color, (30, 120, 200))
    flipped, _ = render(encode(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), "PNG"),
                        VariantSpec("thumb", 100, 100, "PNG"))
    assert close_hex(flipped.color, (30, 120, 200))  # where the colour is does not matter, how much of it does


def test_transparent_pixels_do_not_count_towards_the_colour():
    im = Image.new("RGBA", (100, 100), (0, 200, 0, 0))  # 60 % invisible green
    im.paste((220, 30, 30, 255), (0, 60, 100, 90))  # 30 % red
    im.paste((30, 30, 220, 255), (0, 90, 100, 100))  # 10 % blue
    original, _ = render(encode(im, "PNG"), VariantSpec("thumb", 50, 50, "PNG"))
    assert close_hex(original.color, (220, 30, 30))
    assert close_hex(dominant_color(im), (220, 30, 30))
    assert close_hex(dominant_color(im.convert("RGB").convert("RGBA")), (0, 200, 0))  # the same, opaque


def test_the_longest_placeholder_fits_in_64_base64_characters():
    """The worst case: alpha (the most channels), square (the most luminance terms), detail everywhere."""
    worst = textured(400, 400, alpha=True, seed="worst")
    lengths = []
    for im in (worst, worst.resize((400, 300)), worst.resize((300, 400)), worst.convert("RGB")):
        original, _ = render(encode(im, "PNG"), VariantSpec("thumb", 200, 200, "PNG"))
        lengths.append(len(original.placeholder))
        assert base64.b64decode(original.placeholder, validate=True)
    assert max(lengths) == lengths[0] <= 64, lengths


def test_the_placeholder_is_computed_from_the_smallest_variant(monkeypatch):
    seen = []
    real = image_module.placeholder

    def spy(im):
        seen.append(im.size)
        return real(im)

    monkeypatch.setattr(image_module, "placeholder", spy)
    photo = textured(100, 100, alpha=False, seed="sizes").resize((1600, 1000)).convert("RGB")
    specs = VariantSpec("large", 800, 800, "JPEG"), VariantSpec("tiny", 48, 48, "WEBP"), VariantSpec("mid", 300, 300)
    original, variants = render(encode(photo, "JPEG", quality=90), *specs)
    tiny = next(v for v in variants if v.name == "tiny")
    assert seen == [(tiny.width, tiny.height)] == [(48, 30)]
    assert original.placeholder and (original.width, original.height) == (1600, 1000)


def test_a_one_pixel_image_gets_a_flat_placeholder_of_its_colour(reference):
    """Hashed as it is, one pixel aliases every cosine term: the reference decodes its hash to stripes."""
    original, _ = render(encode(Image.new("RGB", (1, 1), (30, 60, 220)), "PNG"), VariantSpec("thumb", 64, 64, "PNG"))
    [decoded] = reference_decode(reference, [base64.b64decode(original.placeholder)])
    for (low, high), value in zip(decoded["image"].convert("RGB").getextrema(), (30, 60, 220), strict=True):
        assert value - 8 <= low <= high <= value + 8, decoded["image"].getextrema()
    assert decoded["ratio"] == 1 and close_hex(original.color, (30, 60, 220))


def test_a_thin_banner_gets_a_placeholder_left_red_right_blue_without_stripes_across(reference):
    banner = Image.new("RGB", (1600, 40), (220, 20, 20))
    banner.paste((20, 40, 230), (800, 0, 1600, 40))
    original, [variant] = render(encode(banner, "PNG"), VariantSpec("thumb", 200, 200, "PNG"))
    assert (variant.width, variant.height) == (200, 5)
    [decoded] = reference_decode(reference, [base64.b64decode(original.placeholder)])
    shown = decoded["image"].convert("RGB")
    assert shown.width > 4 * shown.height
    for x in (2, shown.width - 3):  # each column is one colour from top to bottom
        column = [shown.getpixel((x, y)) for y in range(shown.height)]
        assert all(abs(a - b) <= 16 for p in column for a, b in zip(p, column[0], strict=True)), column
    left, right = shown.getpixel((2, 0)), shown.getpixel((shown.width - 3, 0))
    assert left[0] > left[2] + 80 and right[2] > right[0] + 80, (left, right)


def test_no_variant_means_no_placeholder():
    original, variants = render(encode(quadrants(40, 40), "PNG"))
    assert variants == [] and (original.placeholder, original.color) == ("", "")


def close_hex(colour: str, expected: tuple[int, int, int], tolerance: int = 12) -> bool:
    rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return all(abs(a - b) <= tolerance for a, b in zip(rgb, expected, strict=True))
