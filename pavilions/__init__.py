"""The pavilion domain: drafts, revisions, reviews and the public tour."""
