"""Multiresolution cube tiles for Pannellum from an equirectangular image, with Pillow alone."""
import math
import os
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

TILE = 512
FALLBACK = 512
QUALITY = 82
FACES = "frblud"  # Pannellum's order and letters: front, right, back, left, up, down
STEP = 16  # mesh cell size in face pixels: small enough that a quad follows the sphere to well under a pixel
TILE_PATH = "/%l/%s%y_%x"


def _direction(face, u, v):
    """Return the view direction (x right, y up, z forward) of face point (u, v), both in -1..1, v downwards."""
    return {"f": (u, -v, 1.0), "r": (1.0, -v, -u), "b": (-u, -v, -1.0), "l": (-1.0, -v, u),
            "u": (u, 1.0, v), "d": (u, -1.0, -v)}[face]


def _source(face, u, v, width, height):
    """Return the equirectangular (x, y) seen at face point (u, v), or x None at a pole."""
    x, y, z = _direction(face, u, v)
    flat = math.hypot(x, z)
    sy = (0.5 - math.atan2(y, flat) / math.pi) * height
    if flat < 1e-9:
        return None, sy
    return (math.atan2(x, z) / (2 * math.pi) + 0.5) * width, sy


def _lines(size):
    """Return the mesh's grid lines, one through the face centre so a pole is never inside a cell."""
    half = size // 2
    return sorted({0, size} | {half + k * STEP for k in range(-(half // STEP) - 1, half // STEP + 2)
                               if 0 < half + k * STEP < size})


def _mesh(face, size, width, height):
    """Return Pillow MESH data [(box, quad)] mapping a SIZE² face to unwrapped equirectangular coordinates,
    and the bounds (left, top, right, bottom) of what it reads."""
    lines = _lines(size)
    grid = {(a, b): _source(face, 2 * a / size - 1, 2 * b / size - 1, width, height) for a in lines for b in lines}
    mesh = []
    xs, ys = [], []
    for y0, y1 in zip(lines, lines[1:], strict=False):
        for x0, x1 in zip(lines, lines[1:], strict=False):
            cx, _cy = _source(face, (x0 + x1) / size - 1, (y0 + y1) / size - 1, width, height)
            quad = []
            for corner in ((x0, y0), (x0, y1), (x1, y1), (x1, y0)):  # Pillow's order: NW, SW, SE, NE
                sx, sy = grid[corner]
                sx = cx if sx is None else sx + width * round((cx - sx) / width)  # same side of the seam as the cell
                quad += [sx, sy]
            xs += quad[::2]
            ys += quad[1::2]
            mesh.append(((x0, y0, x1, y1), quad))
    left, right = math.floor(min(xs)) - 2, math.ceil(max(xs)) + 2
    return mesh, (left, max(0, math.floor(min(ys)) - 2), right, min(height, math.ceil(max(ys)) + 2))


def _window(image, left, top, right, bottom):
    """Return image[left:right, top:bottom] where columns wrap around 360°."""
    width = image.size[0]
    window = Image.new("RGB", (right - left, bottom - top))
    start = left
    while start < right:
        offset = start % width
        piece = min(width - offset, right - start)
        window.paste(image.crop((offset, top, offset + piece, bottom)), (start - left, 0))
        start += piece
    return window


def cube_face(image, face, size):
    """Project the equirectangular IMAGE onto one SIZE² cube face."""
    mesh, (left, top, right, bottom) = _mesh(face, size, *image.size)
    window = _window(image, left, top, right, bottom)
    shifted = [(box, (q[0] - left, q[1] - top, q[2] - left, q[3] - top, q[4] - left, q[5] - top, q[6] - left,
                      q[7] - top)) for box, q in mesh]
    return window.transform((size, size), Image.Transform.MESH, shifted, Image.Resampling.BILINEAR)


def plan(width):
    """Return Pannellum's multiRes numbers for an equirectangular image WIDTH px wide."""
    cube = 8 * int(width / math.pi / 8)
    levels = math.ceil(math.log2(cube / TILE)) + 1
    return {"path": TILE_PATH, "fallbackPath": "/fallback/%s", "extension": "jpg",
            "tileResolution": TILE, "maxLevel": levels, "cubeResolution": cube}


def render_tiles(image, out_dir, prefix="tiles"):
    """Write the cube-tile pyramid of the RGB equirectangular IMAGE under OUT_DIR/PREFIX; return (multires, files)."""
    multires = plan(image.size[0])
    # Pillow releases the GIL while it resamples and encodes, so faces in threads use every core.
    with ThreadPoolExecutor(max_workers=min(len(FACES), os.cpu_count() or 1)) as pool:
        done = pool.map(lambda face: _face_tiles(image, face, multires, out_dir, prefix), FACES)
        return multires, [file for files in done for file in files]


def _face_tiles(image, face, multires, out_dir, prefix):
    cube, levels = multires["cubeResolution"], multires["maxLevel"]
    top = cube_face(image, face, cube)
    files = [_save(top.resize((FALLBACK, FALLBACK), Image.Resampling.LANCZOS, reducing_gap=2.0),
                   out_dir, f"{prefix}/fallback/{face}.jpg")]
    level_image = top
    for level in range(levels, 0, -1):
        size = int(cube / 2 ** (levels - level))
        if level_image.size[0] != size:
            level_image = level_image.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=2.0)
        for row in range(math.ceil(size / TILE)):
            for col in range(math.ceil(size / TILE)):
                box = (col * TILE, row * TILE, min(size, (col + 1) * TILE), min(size, (row + 1) * TILE))
                files.append(_save(level_image.crop(box), out_dir, f"{prefix}/{level}/{face}{row}_{col}.jpg"))
    return files


def _save(tile, out_dir, name):
    path = out_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tile.save(path, "JPEG", quality=QUALITY)
    return name, path, "image/jpeg", tile.size[0]
