"""gunicorn reads this file from the working directory by itself (``gunicorn 'app:create_app()'``).

Rate limits (Flask-Limiter) and other per-process state are shared between worker processes only
through Redis. Without ``REDIS_URL`` every worker would count on its own (10 logins a minute
per worker), so more than one worker without Redis is refused at startup. Threads within one
worker share memory: ``-k gthread --threads 8 -w 1`` is fine without Redis.
"""
import os


def on_starting(server) -> None:
    if server.cfg.workers > 1 and not os.environ.get("REDIS_URL"):
        raise SystemExit(
            f"Refusing to start {server.cfg.workers} workers without REDIS_URL: rate limits would be "
            "counted per worker. Set REDIS_URL, or run one worker with threads (-w 1 --threads 8)."
        )
