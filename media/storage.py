"""Object storage behind a small interface: S3 through boto3, or memory for unit tests."""
import threading

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from flask import current_app

CHUNK = 256 * 1024
# A non-seekable stream is held in memory chunk by chunk; this caps it at 4 × 8 MiB whatever the file's size.
STREAM_TRANSFER = TransferConfig(multipart_chunksize=8 * 1024 * 1024, max_concurrency=4)
STREAM_TRANSFER.max_in_memory_upload_chunks = 4  # s3transfer's setting; boto3's constructor does not expose it


class StoreUnavailable(Exception):
    """The store could not be reached or answered with a server error; try again later."""


class ObjectMissing(Exception):
    """The key does not exist in the store."""


class RangeNotSatisfiable(Exception):
    """The requested byte range lies outside the object."""


def _translate(error):
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in ("NoSuchKey", "404", "NotFound"):
            return ObjectMissing(str(error))
        if code == "InvalidRange" or status == 416:
            return RangeNotSatisfiable(str(error))
        if status >= 500 or code in ("SlowDown", "ServiceUnavailable", "InternalError"):
            return StoreUnavailable(str(error))
        return error
    return StoreUnavailable(str(error))


class S3Storage:
    """A bucket on any S3-compatible store."""

    def __init__(self, endpoint, access_key, secret_key, bucket, region="us-east-1"):
        self.bucket = bucket
        self.client = boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key, region_name=region,
            config=BotoConfig(s3={"addressing_style": "path"}, signature_version="s3v4",
                              connect_timeout=5, read_timeout=60,
                              retries={"max_attempts": 3, "mode": "standard"}),
        )

    def _call(self, method, **kwargs):
        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except (ClientError, BotoCoreError, BotoConnectionError) as error:
            raise _translate(error) from error

    def ensure_bucket(self):
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)

    def put_stream(self, key, stream, content_type, cache_control=None):
        """Store STREAM under KEY in multipart chunks, never holding it whole."""
        extra = {"ContentType": content_type}
        if cache_control:
            extra["CacheControl"] = cache_control
        try:
            self.client.upload_fileobj(stream, self.bucket, key, ExtraArgs=extra, Config=STREAM_TRANSFER)
        except (ClientError, BotoCoreError, BotoConnectionError) as error:
            raise _translate(error) from error

    def put_file(self, key, path, content_type, cache_control=None):
        with open(path, "rb") as fh:
            self.put_stream(key, fh, content_type, cache_control)

    def download(self, key, path):
        """Copy the object at KEY into the local file PATH."""
        try:
            self.client.download_file(self.bucket, key, str(path))
        except (ClientError, BotoCoreError, BotoConnectionError) as error:
            raise _translate(error) from error

    def get(self, key, byte_range=None):
        """Return (chunk iterator, headers dict, status) for KEY, optionally a Range."""
        kwargs = {"Key": key}
        if byte_range:
            kwargs["Range"] = byte_range
        answer = self._call("get_object", **kwargs)
        headers = {"Content-Length": str(answer["ContentLength"]), "ETag": answer.get("ETag", ""),
                   "Content-Type": answer.get("ContentType") or "application/octet-stream"}
        if answer.get("ContentRange"):
            headers["Content-Range"] = answer["ContentRange"]
        status = 206 if answer.get("ContentRange") else 200
        return answer["Body"].iter_chunks(CHUNK), headers, status

    def read(self, key):
        chunks, _headers, _status = self.get(key)
        return b"".join(chunks)

    def delete_prefix(self, prefix):
        """Delete every object whose key starts with PREFIX."""
        token = None
        while True:
            kwargs = {"Prefix": prefix, **({"ContinuationToken": token} if token else {})}
            page = self._call("list_objects_v2", **kwargs)
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self._call("delete_objects", Delete={"Objects": keys, "Quiet": True})
            if not page.get("IsTruncated"):
                return
            token = page["NextContinuationToken"]

    def exists(self, key):
        try:
            self._call("head_object", Key=key)
            return True
        except ObjectMissing:
            return False

    def _multipart(self, method, **kwargs):
        # An aborted, completed or store-expired multipart upload answers NoSuchUpload, which _translate keeps.
        try:
            return self._call(method, **kwargs)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "NoSuchUpload":
                raise ObjectMissing(str(error)) from error
            raise

    def create_multipart_upload(self, key, content_type="application/octet-stream"):
        """Start a multipart upload of KEY; return the store's upload id."""
        return self._call("create_multipart_upload", Key=key, ContentType=content_type)["UploadId"]

    def presign_upload_part(self, key, upload_id, number, expires):
        """Return a URL where a client PUTs part NUMBER for EXPIRES seconds, without our keys."""
        params = {"Bucket": self.bucket, "Key": key, "UploadId": upload_id, "PartNumber": number}
        return self.client.generate_presigned_url("upload_part", Params=params, ExpiresIn=expires)

    def list_parts(self, key, upload_id):
        """Return the stored parts as [{"number", "etag", "size"}], every page of them; ObjectMissing if gone."""
        parts, marker = [], 0
        while True:
            page = self._multipart("list_parts", Key=key, UploadId=upload_id, PartNumberMarker=marker)
            parts += [{"number": p["PartNumber"], "etag": p["ETag"], "size": p["Size"]} for p in page.get("Parts", [])]
            if not page.get("IsTruncated") or not page.get("NextPartNumberMarker"):
                return parts
            marker = page["NextPartNumberMarker"]

    def complete_multipart_upload(self, key, upload_id, parts):
        """Join PARTS, a list of (number, etag), into the object KEY; ObjectMissing if the upload is gone."""
        body = {"Parts": [{"PartNumber": number, "ETag": etag} for number, etag in parts]}
        self._multipart("complete_multipart_upload", Key=key, UploadId=upload_id, MultipartUpload=body)

    def abort_multipart_upload(self, key, upload_id):
        """Abort a multipart upload and drop its parts; an upload already gone is fine."""
        try:
            self._multipart("abort_multipart_upload", Key=key, UploadId=upload_id)
        except ObjectMissing:
            return

    def list_multipart_uploads(self, prefix):
        """Return the open multipart uploads under PREFIX as [(key, upload_id, initiated)], every page."""
        found, markers = [], {}
        while True:
            page = self._call("list_multipart_uploads", Prefix=prefix, **markers)
            found += [(u["Key"], u["UploadId"], u["Initiated"]) for u in page.get("Uploads", [])]
            if not page.get("IsTruncated"):
                return found
            markers = {"KeyMarker": page.get("NextKeyMarker", ""), "UploadIdMarker": page.get("NextUploadIdMarker", "")}

    def read_head(self, key, count):
        """Return the first COUNT bytes of KEY (fewer if the object is shorter) with one ranged GET."""
        chunks, _headers, _status = self.get(key, f"bytes=0-{count - 1}")
        return b"".join(chunks)[:count]


class MemoryStorage:
    """A dict-backed store for pure unit tests."""

    def __init__(self):
        self.objects = {}
        self._lock = threading.Lock()

    def ensure_bucket(self):
        return None

    def put_stream(self, key, stream, content_type, cache_control=None):
        with self._lock:
            self.objects[key] = (stream.read(), content_type)

    def put_file(self, key, path, content_type, cache_control=None):
        with open(path, "rb") as fh:
            self.put_stream(key, fh, content_type, cache_control)

    def download(self, key, path):
        with open(path, "wb") as fh:
            fh.write(self.read(key))

    def read(self, key):
        if key not in self.objects:
            raise ObjectMissing(key)
        return self.objects[key][0]

    def get(self, key, byte_range=None):
        data = self.read(key)
        return iter([data]), {"Content-Length": str(len(data)), "Content-Type": self.objects[key][1]}, 200

    def delete_prefix(self, prefix):
        with self._lock:
            for key in [k for k in self.objects if k.startswith(prefix)]:
                del self.objects[key]

    def exists(self, key):
        return key in self.objects


def storage_for(config):
    """Build the storage that CONFIG names."""
    if not config.get("EXPO_S3_ENDPOINT"):
        raise StoreUnavailable("No object store is configured: set EXPO_S3_ENDPOINT or start `python -m expo serve`.")
    return S3Storage(config["EXPO_S3_ENDPOINT"], config["EXPO_S3_ACCESS_KEY"], config["EXPO_S3_SECRET_KEY"],
                     config["EXPO_S3_BUCKET"], config["EXPO_S3_REGION"])


def get_storage():
    """Return the current app's storage, built once per app."""
    ext = current_app.extensions
    if "expo_storage" not in ext:
        ext["expo_storage"] = storage_for(current_app.config)
    return ext["expo_storage"]



def get_presigner():
    """Return a storage that signs URLs for EXPO_S3_PUBLIC_ENDPOINT, where browsers reach the store."""
    ext = current_app.extensions
    if "expo_presigner" not in ext:
        config = current_app.config
        public = config.get("EXPO_S3_PUBLIC_ENDPOINT") or config.get("EXPO_S3_ENDPOINT")
        if public == config.get("EXPO_S3_ENDPOINT"):
            ext["expo_presigner"] = get_storage()
        else:
            ext["expo_presigner"] = storage_for({**config, "EXPO_S3_ENDPOINT": public})
    return ext["expo_presigner"]
