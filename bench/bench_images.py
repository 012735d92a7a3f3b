"""Image step benchmark: the pipeline's render() against tuned Pillow and pyvips on the same widths and formats.

Run: python bench/bench_images.py [--megapixels 24] [--runs 3]. Prints seconds (median) and the ratio
best-other / pipeline (goal ≥ 0.9). Needs `pip install "pyvips[binary]"` for the pyvips column.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from media import images  # noqa: E402


def make_photo(path, megapixels):
    """Write a noisy, photo-like JPEG of about MEGAPIXELS."""
    width = int((megapixels * 1e6 * 1.5) ** 0.5)
    height = int(width / 1.5)
    noise = Image.effect_noise((width, height), 40).convert("RGB")
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    Image.blend(noise, gradient, 0.5).save(path, "JPEG", quality=92)
    return width, height


def pipeline(src, out):
    images.render(src, out, 200_000_000)


def tuned_pillow(src, out):
    with Image.open(src) as image:
        widths = images.widths_for(image.size[0])
        image.draft("RGB", (widths[-1], image.size[1] * widths[-1] // image.size[0]))
        base = image.convert("RGB")
        for width in sorted(widths, reverse=True):
            size = (width, max(1, round(image.size[1] * width / image.size[0])))
            base = base.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
            for ext, fmt, _type, options in images.OUTPUTS:
                base.save(out / f"p{width}.{ext}", fmt, **options)


def pyvips_cascade(src, out):
    import pyvips

    header = pyvips.Image.new_from_file(str(src))
    widths = images.widths_for(header.width)
    base = pyvips.Image.thumbnail(str(src), widths[-1], size="down").copy_memory()
    for width in sorted(widths, reverse=True):
        if base.width != width:
            base = base.resize(width / base.width, kernel="lanczos3").copy_memory()
        if any(ext == "avif" for ext, *_rest in images.OUTPUTS):
            base.heifsave(str(out / f"v{width}.avif"), Q=63, compression="av1", effort=0, strip=True)
        base.webpsave(str(out / f"v{width}.webp"), Q=79, effort=4, strip=True)
        base.jpegsave(str(out / f"v{width}.jpg"), Q=80, interlace=True, optimize_coding=True, strip=True)


def timed(fn, src, runs):
    samples = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            fn(src, Path(tmp))
            samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--megapixels", type=float, default=24)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "photo.jpg"
        width, height = make_photo(src, args.megapixels)
        results = {"pipeline": timed(pipeline, src, args.runs), "tuned Pillow": timed(tuned_pillow, src, args.runs)}
        try:
            results["pyvips"] = timed(pyvips_cascade, src, args.runs)
        except ImportError:
            print("pyvips is not installed; comparing with tuned Pillow only")
    formats = "+".join(ext for ext, *_rest in images.OUTPUTS)
    print(f"source {width}×{height} ({width * height / 1e6:.1f} MP), widths {images.widths_for(width)}, {formats}")
    for name, seconds in results.items():
        print(f"{name:>14}: {seconds:.3f} s")
    best = min(v for k, v in results.items() if k != "pipeline")
    print(f"ratio (fastest other / pipeline): {best / results['pipeline']:.2f}  (goal >= 0.90)")


if __name__ == "__main__":
    main()
