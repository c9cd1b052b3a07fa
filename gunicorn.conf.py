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


def post_worker_init(worker):
    """Move everything loaded so far (the app, its modules, compiled templates) out of the garbage
    collector's reach: a full collection then walks only what requests allocate, not the ~10^5
    objects of the loaded app, which otherwise stalls a request now and then for tens of ms."""
    import gc

    gc.freeze()
