"""Media processing states and the one table of allowed transitions."""
import enum


class MediaStatus(enum.StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class MediaKind(enum.StrEnum):
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    H5 = "h5"
    PANORAMA = "panorama"
    CAPTIONS = "captions"


class UploadState(enum.StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    ABORTED = "aborted"


TRANSITIONS = {
    MediaStatus.QUEUED: {MediaStatus.PROCESSING, MediaStatus.FAILED},
    # processing -> queued: a run was interrupted (worker lost, store away) and goes again.
    MediaStatus.PROCESSING: {MediaStatus.READY, MediaStatus.FAILED, MediaStatus.QUEUED, MediaStatus.PROCESSING},
    MediaStatus.READY: {MediaStatus.QUEUED},
    MediaStatus.FAILED: {MediaStatus.QUEUED},
}


def can_move(current, target):
    """Tell whether a media item in CURRENT may move to TARGET."""
    return target in TRANSITIONS[MediaStatus(current)]
