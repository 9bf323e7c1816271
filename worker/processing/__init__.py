"""Worker-only machinery for untrusted files: type check, virus scan, thumbnails.

Pure functions over local files and sockets: no database, no storage, no Celery. The
evidence pipeline task spools an object to a temporary file and calls these in turn.
"""
