"""Flink's REST API on loopback, as the tests read it: the job, its restarts, its checkpoints."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FlinkRest:
    port: int

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as response:
            return json.loads(response.read())

    def jobs(self) -> list[dict[str, Any]]:
        """``/jobs/overview``: every job with its state and task counts; [] while the API is not up."""
        try:
            jobs: list[dict[str, Any]] = self.get("/jobs/overview")["jobs"]
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return []
        return jobs

    def running_job(self) -> str | None:
        """The id of the one job when it and all its tasks run, else None."""
        jobs = self.jobs()
        if len(jobs) != 1:
            return None
        (job,) = jobs
        tasks = job["tasks"]
        return str(job["jid"]) if job["state"] == "RUNNING" and tasks["running"] == tasks["total"] else None

    def failures(self, job: str) -> list[str]:
        """The exceptions that failed the job (each one restarted it), oldest first, from its exception history."""
        entries = self.get(f"/jobs/{job}/exceptions")["exceptionHistory"]["entries"]
        return [str(entry["exceptionName"]) for entry in reversed(entries)]

    def completed_checkpoints(self, job: str) -> int:
        return int(self.get(f"/jobs/{job}/checkpoints")["counts"]["completed"])
