"""Read a multipart/form-data body as it arrives: small fields into a dict, one file as a stream.

Werkzeug's form parser spools every file to the web node's disk before the view runs; this reader hands the
file's bytes on as they come in, so an upload passes through with only a bounded buffer.
"""
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import NEED_DATA, Data, Epilogue, Field, File, MultipartDecoder

from expo.errors import Invalid

CHUNK = 1024 * 1024
MAX_FIELD = 64 * 1024


class StreamedForm:
    """Fields read so far in `fields`; `next_file()` returns the file part as a readable stream."""

    def __init__(self, stream, content_type, file_field="file"):
        mimetype, options = parse_options_header(content_type or "")
        if mimetype != "multipart/form-data" or not options.get("boundary"):
            raise Invalid("Send the upload as multipart/form-data with the file in a field named 'file'.",
                          code="file_required")
        self.stream, self.file_field = stream, file_field
        # Fields are capped in _data; the decoder itself only ever buffers about one chunk.
        self.decoder = MultipartDecoder(options["boundary"].encode())
        self.fields, self.filename = {}, None
        self._part, self._value, self._pending = None, bytearray(), bytearray()
        self._in_file = self._file_done = self._ended = False

    def _pump(self):
        """Feed one chunk of the body to the decoder and sort its events."""
        chunk = self.stream.read(CHUNK)
        self.decoder.receive_data(chunk or None)
        try:
            event = self.decoder.next_event()
            while event is not NEED_DATA:
                self._on(event)
                if isinstance(event, Epilogue):
                    self._ended = True
                    return
                event = self.decoder.next_event()
        except ValueError:
            chunk = b""  # the decoder found the body cut short or malformed
        if not chunk:
            raise Invalid("The upload ended before the form was complete; send it again.", code="incomplete_body")

    def _on(self, event):
        if isinstance(event, File) and event.name == self.file_field and self.filename is None:
            self._part, self._in_file, self.filename = "file", True, event.filename or ""
        elif isinstance(event, File | Field):
            self._part, self._value = event.name if isinstance(event, Field) else None, bytearray()
        elif isinstance(event, Data):
            self._data(event)

    def _data(self, event):
        if self._part == "file":
            self._pending += event.data
            if not event.more_data:
                self._file_done, self._part = True, None
        elif self._part is not None:
            self._value += event.data
            if len(self._value) > MAX_FIELD:
                raise Invalid(f"The form field '{self._part}' is too long.", code="invalid_body")
            if not event.more_data:
                self.fields[self._part] = self._value.decode("utf-8", "replace")

    def next_file(self):
        """Read up to the file part; return self as its stream, or None if the form has no file."""
        while not self._in_file and not self._ended:
            self._pump()
        return self if self._in_file else None

    def read(self, size=-1):
        """Return up to SIZE bytes of the file (all that is left for -1); b"" at its end."""
        while not self._file_done and (size < 0 or len(self._pending) < size):
            self._pump()
        size = len(self._pending) if size < 0 else size
        data = bytes(self._pending[:size])
        del self._pending[:size]
        return data

    def finish(self):
        """Read the rest of the body, collecting the fields after the file."""
        while not self._ended:
            self._pump()
        return self.fields
