#!/usr/bin/env python3
"""A reference jobloom worker in Python: serves the quickstart's `ml` job type over HTTP.

It needs nothing but the standard library and `requests`, and no database: it claims jobs from the API process
(`POST {api}/workers/claim`, a long-poll), heartbeats each job's lease from a thread (the answer says when the job
was cancelled or paused), reports stage progress, items, log lines and a checkpoint after each batch, and settles the
job (`succeed` or `fail`). A paused job is settled with `fail` after its last checkpoint: it becomes PAUSED without
spending the attempt, and the attempt that resumes it gets the checkpoint (the claimed job's `checkpoint`) and goes on
with the batches it had not processed.

    python3 worker.py --api http://localhost:3000/api

Start the quickstart with `JOBLOOM_REMOTE_TYPES=ml` so that `ml` jobs are left to remote workers.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import sys
import threading
import time
from typing import Any

import requests


class LeaseLost(Exception):
    """The claim no longer holds the job (409) or the job is gone (404): stop without settling."""


class Stop(Exception):
    """The heartbeat said to stop (cancel, pause, timeout, deadline)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Api:
    """The worker routes of a jobloom API, e.g. http://localhost:3000/api."""

    def __init__(self, base: str, timeout: float = 10.0) -> None:
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def post(self, path: str, body: dict[str, Any], timeout: float | None = None) -> Any:
        response = self.session.post(self.base + path, json=body, timeout=timeout or self.timeout)
        if response.status_code in (404, 409):
            raise LeaseLost(response.json().get("detail", response.reason))
        if response.status_code >= 400:
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def claim(self, worker_id: str, types: list[str], wait_ms: int) -> list[dict[str, Any]]:
        body = {"workerId": worker_id, "types": types, "limit": 1, "waitMs": wait_ms}
        return self.post("/workers/claim", body, timeout=wait_ms / 1000 + self.timeout)["jobs"]


class Attempt:
    """One claimed job: its token, the heartbeat thread, and the calls that report on it."""

    def __init__(self, api: Api, claimed: dict[str, Any]) -> None:
        self.api = api
        self.job = claimed["job"]
        self.token = claimed["token"]
        self.interval = claimed["heartbeatMs"] / 1000
        self.stop_reason: str | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{self.job['id']}", daemon=True)

    def _path(self, action: str) -> str:
        return f"/workers/jobs/{self.job['id']}/{action}"

    def _beat(self) -> None:
        while not self.done.wait(self.interval):
            try:
                answer = self.api.post(self._path("heartbeat"), {"token": self.token})
            except LeaseLost:
                self.stop_reason = "lost"
                return
            except (requests.RequestException, RuntimeError) as error:
                # the lease outlives a few missed beats; keep trying
                print(f"heartbeat failed: {error}", file=sys.stderr, flush=True)
                continue
            if answer["stop"] is not None:
                self.stop_reason = answer["stop"]
                return

    def __enter__(self) -> "Attempt":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()

    def check(self) -> None:
        """Raises `Stop` once a heartbeat said to stop: called between units of work."""
        if self.stop_reason is not None:
            raise Stop(self.stop_reason)

    def sleep(self, seconds: float) -> None:
        """Sleeps, waking early when told to stop."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.check()
            time.sleep(min(0.05, max(0.0, end - time.monotonic())))
        self.check()

    def progress(self, **report: Any) -> None:
        self.api.post(self._path("progress"), {"token": self.token, **report})

    def items(self, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), 1000):
            self.api.post(self._path("items"), {"token": self.token, "items": items[start : start + 1000]})

    def log(self, message: str, level: str = "info") -> None:
        self.api.post(self._path("logs"), {"token": self.token, "lines": [{"level": level, "message": message}]})

    def succeed(self, result: Any) -> str:
        return self.api.post(self._path("succeed"), {"token": self.token, "result": result})["status"]

    def fail(self, message: str, retryable: bool = True) -> str:
        return self.api.post(self._path("fail"), {"token": self.token, "message": message, "retryable": retryable})[
            "status"
        ]


def run_ml(attempt: Attempt, image_seconds: float) -> dict[str, int]:
    """The `ml` job: the same stages, params, items and result as the quickstart's in-process handler."""
    params = attempt.job["params"] or {}
    count = int(params.get("images", 20))
    batch_size = int(params.get("batchSize", 4))
    delay = float(params.get("delay", 0))
    limit = params.get("limit")
    failure_rate = float(params.get("failureRate", 0.1))

    # the checkpoint an earlier attempt saved (it was paused, failed or crashed): go on after its last batch
    resumed = attempt.job.get("checkpoint")
    if delay > 0 and resumed is None:
        attempt.log(f"Waiting {delay} s (fake work)")
        attempt.sleep(delay)

    images = [f"img-{i + 1:05d}" for i in range(count)]
    if limit is not None:
        images = images[: int(limit)]
    total = len(images)
    if resumed is None:
        attempt.progress(stages=[{"key": "collect", "status": "RUNNING"}])
        attempt.items([{"key": image, "status": "PENDING"} for image in images])
        attempt.log(f"Found {len(images)} out of {count} images to process")
        attempt.progress(
            stages=[
                {"key": "collect", "status": "SUCCEEDED", "progress": 1, "params": {"total_images": total}},
                {"key": "process", "status": "RUNNING", "params": {"processed": 0, "remaining": total, "failed": 0}},
                {"key": "results", "status": "RUNNING"},
            ]
        )
        done_batches = processed = failed = captures = detections = classifications = 0
    else:
        done_batches = int(resumed["batches"])
        processed, failed = int(resumed["processed"]), int(resumed["failed"])
        captures, detections = int(resumed["captures"]), int(resumed["detections"])
        classifications = int(resumed["classifications"])
        attempt.log(f"Resuming after {done_batches} batches ({processed} images): {total - processed} images to go")
        attempt.progress(stages=[{"key": "collect", "status": "SUCCEEDED", "progress": 1}])

    batches = (total + batch_size - 1) // batch_size
    for index in range(done_batches, batches):
        attempt.check()
        start = index * batch_size
        batch = images[start : start + batch_size]
        attempt.log(f"Processing image batch {index + 1} of {batches}")
        attempt.items([{"key": image, "status": "RUNNING"} for image in batch])
        reports = []
        for image in batch:
            attempt.sleep(image_seconds)
            if random.random() < failure_rate:
                failed += 1
                reports.append({"key": image, "status": "FAILED", "error": f"{image}: the model could not read it"})
                continue
            found = {"detections": random.randint(0, 5), "classifications": random.randint(0, 5)}
            captures += 1
            detections += found["detections"]
            classifications += found["classifications"]
            reports.append({"key": image, "status": "SUCCEEDED", "output": found})
        attempt.items(reports)
        processed += len(batch)
        attempt.progress(
            stages=[
                {
                    "key": "process",
                    "progress": processed / total,
                    "params": {"processed": processed, "remaining": total - processed, "failed": failed},
                },
                {
                    "key": "results",
                    "progress": processed / total,
                    "params": {"captures": captures, "detections": detections, "classifications": classifications},
                },
            ],
            # the batch is done: a pause, failure or crash from here on resumes after it
            checkpoint={
                "batches": index + 1,
                "processed": processed,
                "failed": failed,
                "captures": captures,
                "detections": detections,
                "classifications": classifications,
            },
        )
    attempt.progress(
        stages=[{"key": "process", "status": "SUCCEEDED", "progress": 1}, {"key": "results", "status": "SUCCEEDED", "progress": 1}]
    )
    return {"captures": captures, "detections": detections, "classifications": classifications, "failed": failed}


def serve(api: Api, worker_id: str, wait_ms: int, image_seconds: float, stopping: threading.Event) -> None:
    print(f"worker {worker_id} serving ml jobs from {api.base}", flush=True)
    while not stopping.is_set():
        try:
            claimed = api.claim(worker_id, ["ml"], wait_ms)
        except (requests.RequestException, RuntimeError) as error:
            print(f"claim failed: {error}", file=sys.stderr, flush=True)
            time.sleep(1)
            continue
        for one in claimed:
            job_id = one["job"]["id"]
            print(f"claimed {job_id} (attempt {one['job']['attempt']})", flush=True)
            with Attempt(api, one) as attempt:
                try:
                    result = run_ml(attempt, image_seconds)
                    status = attempt.succeed(result)
                    print(f"settled {job_id}: {status}", flush=True)
                except Stop as stop:
                    # told to stop: a cancelled job is settled (it becomes CANCELLED), and so is a paused one (it
                    # becomes PAUSED, the attempt given back, its last checkpoint kept); a timed-out one already is
                    if stop.reason == "cancel":
                        status = attempt.fail("stopped: the job was cancelled")
                        print(f"cancelled {job_id}: {status}", flush=True)
                    elif stop.reason == "pause":
                        status = attempt.fail("stopped: the job was paused")
                        print(f"paused {job_id}: {status}", flush=True)
                    else:
                        print(f"stopped {job_id}: {stop.reason}", flush=True)
                except LeaseLost as lost:
                    print(f"lost {job_id}: {lost}", flush=True)
                except Exception as error:  # the handler's own failure: retried by the engine's rules
                    try:
                        status = attempt.fail(f"{type(error).__name__}: {error}")
                        print(f"failed {job_id}: {status}", flush=True)
                    except LeaseLost:
                        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default=os.environ.get("JOBLOOM_API", "http://localhost:3000/api"))
    parser.add_argument("--worker-id", default=f"{socket.gethostname()}:{os.getpid()}")
    parser.add_argument("--wait-ms", type=int, default=20_000, help="long-poll wait of each claim")
    parser.add_argument("--image-seconds", type=float, default=0.05, help="fake processing time per image")
    args = parser.parse_args()
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        # finish the job at hand, then stop claiming
        print(f"signal {signum}: stopping after the current job", flush=True)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    serve(Api(args.api), args.worker_id, args.wait_ms, args.image_seconds, stopping)


if __name__ == "__main__":
    main()
