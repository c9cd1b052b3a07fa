"""Production gunicorn settings (SECURITY.md): several workers, bounded requests, recycled workers."""
import multiprocessing
import os

bind = os.environ.get("RLHF_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("RLHF_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("RLHF_THREADS", 2))
timeout = 30
graceful_timeout = 20
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
# Never log cookies or Authorization headers: the default access log format has neither.
