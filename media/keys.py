"""Object-key builders: every key is made here from ids, never from a file name."""
import re

_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,80}$")


def _check(part, pattern=_SAFE):
    if not pattern.match(part):
        raise ValueError(f"unsafe key part {part!r}")
    return part


def original(media_id):
    """Key of the uploaded original, kept under its own prefix."""
    return f"originals/{_check(media_id)}/source"


def run_prefix(media_id, run_id):
    """Prefix of one processing run; a new run never overwrites an older one."""
    return f"media/{_check(media_id)}/{_check(run_id)}/"


def rendition(media_id, run_id, name):
    """Key of one rendition file of a run; NAME may have folders (hls/v720/seg1.m4s), never `..`."""
    parts = name.split("/")
    if len(parts) > 4:
        raise ValueError(f"unsafe key part {name!r}")
    return run_prefix(media_id, run_id) + "/".join(_check(part, _NAME) for part in parts)
