import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from config.env import env_int
from config.live_server import web_server_command
from ml_training.services.worker import training_worker


class Command(BaseCommand):
    help = "Run the ASGI web server, a Celery worker with beat and a low-priority training worker; Ctrl-C stops all."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument(
            "--workers",
            type=int,
            default=env_int("WEB_CONCURRENCY", os.cpu_count() or 1),
            help="web server processes (default: WEB_CONCURRENCY, else the number of CPUs)",
        )

    def handle(self, host, port, workers, **options):
        python = sys.executable
        commands = {
            "web": web_server_command(host, port, workers),
            "worker": [python, "-m", "celery", "-A", "config", "worker", "--beat", "--loglevel", "INFO",
                       "--concurrency", "2"],
        }
        # Training jobs: one process at the lowest CPU priority, on their own queue (settings).
        commands["training"], training_env = training_worker(
            python, queue=settings.CELERY_TRAINING_QUEUE, hostname="training@%h"
        )
        environments = {"training": training_env}
        processes = {name: subprocess.Popen(cmd, env=environments.get(name)) for name, cmd in commands.items()}
        self.stdout.write(
            f"web on http://{host}:{port}/ ({workers} worker process{'es' if workers > 1 else ''})  "
            "admin /admin/  docs /api/docs/  health /api/v1/health"
        )
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping and all(p.poll() is None for p in processes.values()):
            time.sleep(0.5)
        for _name, process in processes.items():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _name, process in processes.items():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        failed = [name for name, p in processes.items() if p.returncode not in (0, -signal.SIGTERM) and not stopping]
        if failed:
            raise SystemExit(f"stopped because {', '.join(failed)} exited")
