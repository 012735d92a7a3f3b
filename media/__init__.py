"""The ingest pipeline: uploads, validation, processing and storage of booth media."""
