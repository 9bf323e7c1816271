"""gunicorn settings for `make run` and the container. Environment: PORT, WEB_CONCURRENCY, BIND."""

import os

bind = os.environ.get("BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
# ECS stops a task with SIGTERM then SIGKILL after stopTimeout (30 s by default): finish
# in-flight requests well before that.
graceful_timeout = 20
timeout = 30
# The app writes its own JSON request log line; gunicorn's access log would duplicate it.
accesslog = None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
