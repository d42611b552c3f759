"""The Apache Flink StateFun 3.3.0 runtime in its two forms, running one module.yaml on loopback.

- :class:`HarnessRuntime`: StateFun's harness, a Flink MiniCluster in one JVM, started by our
  launcher (``java/harness``) with the shipped Flink settings that apply to one JVM.
- :class:`StandaloneRuntime`: Flink 1.16.2 standalone in application mode, as the
  ``apache/flink-statefun`` image runs it: a jobmanager (``bin/standalone-job.sh`` running
  ``StatefulFunctionsJob``) and a taskmanager (``bin/taskmanager.sh``), each a process of its own
  in the foreground, with the shipped flink-conf.yaml.

Both wait until the job and all its tasks run, watch it through Flink's REST API, and end every
process they started on ``stop()``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.engine import flink_conf, processes
from tests.engine.artifacts import FLINK_JAVA_FLAGS, class_path, java, maven_build
from tests.engine.flink_dist import flink_home
from tests.engine.flink_rest import FlinkRest
from tests.engine.processes import EngineSetupError, Service

JOB_CLASS = "org.apache.flink.statefun.flink.core.StatefulFunctionsJob"
LAUNCHER_CLASS = "statefunfaas.engine.HarnessLauncher"


class StateFunRuntime:
    """What both forms share: the run folder, the REST API, the job, its processes."""

    form = ""

    def __init__(self, run: Path, module: Path, checkpoint_interval: str = "1s") -> None:
        self.run = run
        self.module = module
        self.checkpoint_interval = checkpoint_interval
        self.rest = FlinkRest(processes.free_ports(1)[0])
        self.services: list[Service] = []
        self.job = ""  # the job's id once it runs
        self._failures_before_kill = 0
        self.run.mkdir(parents=True, exist_ok=True)

    def _local(self) -> dict[str, str]:
        return flink_conf.local_settings(self.run, self.module, self.rest.port, self.checkpoint_interval)

    def _wait_running(self, timeout: float = 300) -> None:
        """Wait until the job and all its tasks run; note how long the JVM and the job took."""
        alive = [s for s in self.services if s.running()]
        up = processes.wait_until(lambda: bool(self.rest.jobs()), f"{self.form}: Flink's REST API", alive, timeout)
        running = processes.wait_until(lambda: self.rest.running_job() is not None, f"{self.form}: job", alive, timeout)
        self.job = self.rest.running_job() or ""
        processes.TIMINGS.append((f"StateFun {self.form}: start to REST API up with the job", up))
        processes.TIMINGS.append((f"StateFun {self.form}: then to all tasks running", running))

    def wait_running(self, timeout: float = 300) -> str:
        """Wait until the job (again) runs with all its tasks; its id."""
        alive = [s for s in self.services if s.running()]
        processes.wait_until(lambda: self.rest.running_job() is not None, f"{self.form}: job", alive, timeout)
        self.job = self.rest.running_job() or ""
        return self.job

    def failures(self) -> list[str]:
        """The exceptions that failed (and so restarted) the job since it was submitted, oldest first."""
        return self.rest.failures(self.job)

    def wait_for_checkpoint(self, timeout: float = 120) -> int:
        """Wait for a checkpoint that starts after this call to complete; the count of completed ones."""
        first = self.rest.completed_checkpoints(self.job)
        alive = [s for s in self.services if s.running()]
        processes.wait_until(
            lambda: self.rest.completed_checkpoints(self.job) >= first + 2, f"{self.form}: a checkpoint", alive, timeout
        )
        return self.rest.completed_checkpoints(self.job)

    def logs(self) -> str:
        return "\n".join(f"--- {s.name} ({s.log}):\n{s.log_tail(200)}" for s in self.services)

    def stop(self) -> None:
        """End every process this runtime started (no JVM is left)."""
        for service in reversed(self.services):
            service.stop(grace=15)


class HarnessRuntime(StateFunRuntime):
    form = "harness"

    def start(self, parallelism: int = 1) -> HarnessRuntime:
        settings = flink_conf.harness_settings(self._local(), parallelism)
        jars = maven_build()
        command = [
            java().executable,
            "-Xmx768m",
            *FLINK_JAVA_FLAGS,
            f"-Dlog4j.configuration={processes.log4j_properties(self.run, self.run / 'harness.log').as_uri()}",
            "-cp",
            class_path(*jars.harness),
            LAUNCHER_CLASS,
            str(self.module.resolve()),
            *(f"{key}={value}" for key, value in settings.items() if key != "statefun.remote.module-name"),
        ]
        (self.run / "harness.command").write_text(" ".join(command) + "\n")
        self.services.append(processes.start("statefun-harness", command, self.run / "harness.out"))
        self._wait_running()
        return self


class StandaloneRuntime(StateFunRuntime):
    form = "standalone"

    def start(self) -> StandaloneRuntime:
        home = flink_home()
        jobmanager_port, blob_port = processes.free_ports(2)
        settings = flink_conf.standalone_settings(
            self._local(), flink_conf.cluster_settings(jobmanager_port, blob_port)
        )
        conf = self.run / "conf"
        shutil.copytree(home / "conf", conf)  # Flink's own logging configuration, as docs/statefun-runtime.md does
        (conf / "flink-conf.yaml").write_text(flink_conf.render(settings))
        scripts = home / "bin"
        command = [str(scripts / "standalone-job.sh"), "start-foreground", "--job-classname", JOB_CLASS]
        self.services.append(processes.start("jobmanager", command, self.run / "jobmanager.out", self._env()))
        self.start_taskmanager()
        self._wait_running()
        return self

    def _env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("FLINK_", "_FLINK_"))}
        env.update(
            JAVA_HOME=str(java().home),
            FLINK_CONF_DIR=str(self.run / "conf"),
            FLINK_LOG_DIR=str(self.run / "log"),
            FLINK_PID_DIR=str(self.run),
        )
        return env

    @property
    def taskmanager(self) -> Service:
        """The taskmanager started last."""
        found = [s for s in self.services if s.name.startswith("taskmanager")]
        if not found:
            raise EngineSetupError("no taskmanager was started")
        return found[-1]

    def start_taskmanager(self) -> Service:
        """Start a (new) taskmanager; it registers with the jobmanager and takes the job's slots."""
        number = sum(s.name.startswith("taskmanager") for s in self.services) + 1
        command = [str(flink_home() / "bin" / "taskmanager.sh"), "start-foreground"]
        service = processes.start(f"taskmanager-{number}", command, self.run / f"taskmanager-{number}.out", self._env())
        self.services.append(service)
        return service

    def kill_taskmanager(self) -> None:
        """``kill -9`` the running taskmanager (its JVM and anything it started); returns once it is gone.

        Then ``start_taskmanager()`` and ``wait_recovered()``.
        """
        self._failures_before_kill = len(self.failures())
        self.taskmanager.kill()

    def wait_recovered(self, timeout: float = 300) -> float:
        """After ``kill_taskmanager()``: wait until the job failed over and runs again with all its tasks; seconds."""
        alive = [s for s in self.services if s.running()]
        failed = processes.wait_until(
            lambda: len(self.failures()) > self._failures_before_kill, "the job to see the loss", alive, timeout
        )
        running = processes.wait_until(
            lambda: self.rest.running_job() is not None, f"{self.form}: the job to run again", alive, timeout
        )
        processes.TIMINGS.append(
            (f"StateFun {self.form}: kill -9 of the taskmanager to the job running again", failed + running)
        )
        return failed + running
