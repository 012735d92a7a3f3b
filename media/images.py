"""Image processing with Pillow: one decode, orientation applied, metadata gone, every width."""
import base64
import io
import warnings
from pathlib import Path

from PIL import Image, ImageCms, ImageFilter, ImageOps, features

from media import panorama

WIDTHS = (320, 640, 960, 1280, 1920, 2560)
FORMATS = {"JPEG", "PNG", "GIF", "WEBP", "MPO"}
# imgproxy's qualities; AVIF only where this Pillow was built with it, at a speed that keeps it cheaper than WebP.
OUTPUTS = ((("avif", "AVIF", "image/avif", {"quality": 63, "speed": 9}),) if features.check("avif") else ()) + (
    ("webp", "WEBP", "image/webp", {"quality": 79, "method": 4}),
    ("jpg", "JPEG", "image/jpeg", {"quality": 80, "progressive": True, "optimize": True}))
PLACEHOLDER_WIDTH = 16
_SRGB = ImageCms.createProfile("sRGB")
# Pillow only warns below 2x its limit; the project enforces its own cap as an error before decoding.
Image.MAX_IMAGE_PIXELS = None


class ImageRejected(Exception):
    """The image cannot be accepted; the message tells the exhibitor what to change."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


# Pillow raises ValueError for a text or ICC chunk that would inflate past its limit (a metadata bomb).
UNREADABLE = (OSError, SyntaxError, ValueError)


def _orientation(image):
    """Return the EXIF orientation; on a PNG this reads every chunk, so a metadata bomb is refused here."""
    try:
        return image.getexif().get(0x0112, 1)
    except UNREADABLE as error:
        raise ImageRejected("unreadable_image", "The image's metadata is damaged or oversized; export the image "
                            "again without extra metadata.") from error


def _oriented_size(image):
    width, height = image.size
    return (height, width) if _orientation(image) in (5, 6, 7, 8) else (width, height)


def open_checked(path, max_pixels):
    """Open PATH as an image of an allowed format within MAX_PIXELS, or raise ImageRejected."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
    except (*UNREADABLE, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRejected("unreadable_image", "The file is not an image we can read (JPEG, PNG, GIF or WebP); "
                            "export it again in one of those formats.") from error
    if image.format not in FORMATS:
        image.close()
        raise ImageRejected("unsupported_image", f"{image.format} images are not accepted; "
                            "upload a JPEG, PNG, GIF or WebP file.")
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise ImageRejected(
            "image_too_large",
            f"The image is {width}×{height} pixels ({width * height / 1e6:.1f} MP); the limit is "
            f"{max_pixels / 1e6:.0f} MP. Resize it and upload it again.")
    return image


def widths_for(source_width):
    """Return the rendition widths for a source: the standard ones it reaches, never upscaled."""
    widths = [w for w in WIDTHS if w <= source_width]
    if source_width < WIDTHS[-1] and source_width not in widths:
        widths.append(source_width)
    return sorted(widths)


def _decode(image, largest):
    """Decode once, at the smallest scale that still covers the largest width."""
    ow, oh = _oriented_size(image)
    target = (largest, max(1, round(oh * largest / ow)))
    if image.format in ("JPEG", "MPO"):
        image.draft("RGB", target[::-1] if _orientation(image) in (5, 6, 7, 8) else target)
    try:
        image.load()
    except UNREADABLE as error:
        raise ImageRejected("truncated_image", "The image file is damaged or cut short; export it again.") from error
    return ImageOps.exif_transpose(image)


def _to_srgb(image):
    icc = image.info.get("icc_profile")
    has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
    image = image.convert("RGBA" if has_alpha else "RGB")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            image = ImageCms.profileToProfile(image, source, _SRGB, outputMode=image.mode)
        except (ImageCms.PyCMSError, OSError):
            pass  # A broken embedded profile is dropped; the pixels are kept as sRGB.
    return image, has_alpha


def render(path, out_dir, max_pixels):
    """Write every width of the image at PATH into OUT_DIR; return (meta, [(name, file, type, width)])."""
    with open_checked(path, max_pixels) as image:
        return _render(image, out_dir)


def _render(image, out_dir):
    width, height = _oriented_size(image)
    widths = widths_for(width)
    decoded, has_alpha = _to_srgb(_decode(image, widths[-1]))
    decoded.info = {}  # Resized copies inherit info; emptying it keeps EXIF, XMP and ICC out of every file.
    flat = None
    files = []
    base = decoded
    for target in sorted(widths, reverse=True):
        size = (target, max(1, round(height * target / width)))
        base = base if base.size == size else base.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        for ext, fmt, content_type, options in OUTPUTS:
            frame = base
            if fmt == "JPEG" and has_alpha:
                flat = Image.new("RGB", base.size, (255, 255, 255))
                flat.paste(base, mask=base.getchannel("A"))
                frame = flat
            out = out_dir / f"w{target}.{ext}"
            frame.save(out, fmt, **options)
            files.append((out.name, out, content_type, target))
    meta = {"width": width, "height": height, "format": image.format.lower(), "has_alpha": has_alpha,
            "placeholder": placeholder(base)}
    return meta, files


def placeholder(image):
    """Return a tiny blurred WebP of IMAGE as a data URI, shown while the real image loads."""
    small = image.convert("RGB")
    small.thumbnail((PLACEHOLDER_WIDTH, PLACEHOLDER_WIDTH), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    small.filter(ImageFilter.GaussianBlur(1)).save(out, "WEBP", quality=40)
    return "data:image/webp;base64," + base64.b64encode(out.getvalue()).decode()


def render_poster(path, out_dir, stem):
    """Turn the screenshot at PATH into a JPEG and a WebP named STEM.jpg/.webp in OUT_DIR (no metadata)."""
    with Image.open(path) as shot:
        shot.load()
        frame = shot.convert("RGB")
    frame.info = {}
    files = []
    for ext, fmt, content_type, options in (("jpg", "JPEG", "image/jpeg", {"quality": 80, "progressive": True}),
                                            ("webp", "WEBP", "image/webp", {"quality": 75})):
        out = Path(out_dir) / f"poster.{ext}"
        frame.save(out, fmt, **options)
        files.append((f"{stem}.{ext}", out, content_type, frame.size[0]))
    return {"poster_placeholder": placeholder(frame)}, files


PANORAMA_BASE = 4096
PANORAMA_PREVIEW = 512


def render_panorama(path, out_dir, max_pixels):
    """Check a 2:1 equirectangular image; write a base (≤ 4096 px wide) and a small blurred preview."""
    with open_checked(path, max_pixels) as image:
        return _render_panorama(image, out_dir)


def _render_panorama(image, out_dir):
    width, height = _oriented_size(image)
    if abs(width / height - 2) > 0.02:
        raise ImageRejected("not_equirectangular",
                            f"A panorama must be an equirectangular image twice as wide as it is high (2:1); this "
                            f"one is {width}×{height}. Export it from your camera's app as a 2:1 panorama.")
    base_width = min(width, PANORAMA_BASE)
    # Tiles need every source pixel; below the base width one reduced decode is enough.
    decoded, _alpha = _to_srgb(_decode(image, width if width > PANORAMA_BASE else base_width))
    decoded = decoded.convert("RGB")
    decoded.info = {}
    meta = {"width": width, "height": height, "format": image.format.lower(), "projection": "equirectangular"}
    files = []
    if width > PANORAMA_BASE:
        meta["multires"], files = panorama.render_tiles(decoded, out_dir)
    base = decoded if decoded.size[0] == base_width else decoded.resize(
        (base_width, base_width // 2), Image.Resampling.LANCZOS, reducing_gap=3.0)
    base.save(out_dir / "base.jpg", "JPEG", quality=85, progressive=True, optimize=True)
    preview = base.resize((PANORAMA_PREVIEW, PANORAMA_PREVIEW // 2), Image.Resampling.BILINEAR, reducing_gap=2.0)
    preview.filter(ImageFilter.GaussianBlur(2)).save(out_dir / "preview.jpg", "JPEG", quality=60)
    # The entry files go last: whoever sees them can rely on the tiles being there.
    files += [("base.jpg", out_dir / "base.jpg", "image/jpeg", base_width),
              ("preview.jpg", out_dir / "preview.jpg", "image/jpeg", PANORAMA_PREVIEW)]
    return meta, files
