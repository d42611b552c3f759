"""Images built and run without a daemon: buildah builds, podman runs, on a storage folder of their own.

No registry with base images can be reached here (Docker Hub is not), so :func:`debian_python`
builds the base from Debian's packages: ``debootstrap --variant=minbase`` with python3-venv, and
Python in a venv at /opt/python, first on PATH, so that ``pip`` and ``python`` are commands as in
the official ``python:*-slim`` images. The Dockerfiles take it with ``--build-arg BASE=...``.

What this machine needs, said where it is done: runc as the OCI runtime (crun refuses a machine
whose cgroups are v1 and v2 at once), the cgroupfs manager (no systemd), and ulimits within the
machine's hard limits (podman asks for more by default, which root without CAP_SYS_RESOURCE can
not set).
"""

from __future__ import annotations

import ast
import resource
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

DEBIAN = ("bookworm", "http://deb.debian.org/debian")  # the suite of the default base, python:3.x-slim-bookworm
VENV = "/opt/python"
BASE_DOCKERFILE = f"""\
FROM scratch
ADD rootfs.tar /
# /etc/pip.conf: where a build mounts the machine's pip settings (a mount point it creates stays in the image)
RUN python3 -m venv {VENV} && touch /etc/pip.conf
ENV PATH={VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
CMD ["python3"]
"""
TRIMMED = (  # the downloaded packages, the package lists, the documentation and the translations
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
)
PIP_SETTINGS = ("index-url", "extra-index-url", "trusted-host", "cert", "client-cert", "proxy", "timeout")
STOPPED = 30.0  # seconds podman waits for a container that got SIGTERM


def run(command: list[str], timeout: float = 600.0) -> str:
    """Run ``command``; its standard output, or an assertion error with everything it said."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(command)} (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout.strip()


@dataclass
class Build:
    tag: str
    seconds: float


class Engine:
    """buildah and podman with their images, containers and volumes under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        storage = ["--root", str(folder / "storage"), "--runroot", str(folder / "run"), "--storage-driver", "overlay"]
        self.buildah_options = [*storage]
        self.podman_options = [*storage, "--runtime", "runc", "--cgroup-manager", "cgroupfs"]

    def buildah(self, *args: str, timeout: float = 600.0) -> str:
        return run(["buildah", *self.buildah_options, *args], timeout)

    def podman(self, *args: str, timeout: float = 120.0) -> str:
        return run(["podman", *self.podman_options, *args], timeout)

    def build(self, context: Path, tag: str, *options: str, dockerfile: Path | None = None) -> Build:
        """``buildah bud`` (with no network unless ``options`` give one); the seconds it took."""
        started = time.monotonic()
        file = ["--file", str(dockerfile)] if dockerfile else []
        self.buildah("bud", "--runtime", "runc", "--network", "none", *options, *file, "--tag", tag, str(context))
        return Build(tag, time.monotonic() - started)

    def size(self, tag: str) -> int:
        """The image's size in bytes, unpacked (what ``podman images`` shows)."""
        return int(self.podman("image", "inspect", "--format", "{{.Size}}", tag))

    def start(self, tag: str, *options: str) -> str:
        """``podman run -d`` on the host's network (its ports are the machine's); the container's id."""
        return self.podman("run", "--detach", "--network", "host", *limit_options(), *options, tag)

    def stop(self, container: str) -> int:
        """SIGTERM to the container's PID 1, as ``docker stop`` sends it; its exit code (137: killed)."""
        self.podman("stop", "--time", str(int(STOPPED)), container, timeout=STOPPED + 30)
        return int(self.podman("inspect", "--format", "{{.State.ExitCode}}", container))

    def logs(self, container: str) -> str:
        done = subprocess.run(["podman", *self.podman_options, "logs", container], capture_output=True, text=True)
        return done.stdout + done.stderr

    def pid1_uid(self, container: str) -> int:
        """The real uid of the container's PID 1, read from the machine's /proc."""
        pid = self.podman("inspect", "--format", "{{.State.Pid}}", container)
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        return int(next(line for line in status if line.startswith("Uid:")).split()[1])

    def close(self) -> None:
        """Remove every container, image and volume of this storage (nothing stays mounted)."""
        subprocess.run(["podman", *self.podman_options, "system", "reset", "--force"], capture_output=True)


def limit_options() -> list[str]:
    """``podman run`` options: open files and processes at most the machine's hard limits (4096 is plenty here)."""
    options = []
    for name, kind in (("nofile", resource.RLIMIT_NOFILE), ("nproc", resource.RLIMIT_NPROC)):
        hard = resource.getrlimit(kind)[1]
        limit = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
        options.append(f"--ulimit={name}={limit}:{limit}")
    return options


def debian_python(engine: Engine, tag: str) -> Build:
    """The base image from Debian's packages (see the module's docstring); the seconds it took, debootstrap included."""
    started = time.monotonic()
    suite, mirror = DEBIAN
    work = engine.folder / "debian"
    rootfs = work / "rootfs"
    run(["debootstrap", "--variant=minbase", "--include=python3-venv", suite, str(rootfs), mirror])
    for name in TRIMMED:
        run(["rm", "-rf", str(rootfs / name)])
    with tarfile.open(work / "rootfs.tar", "w") as archive:
        for path in sorted(rootfs.iterdir()):
            if path.name != "dev":  # the runtime mounts /dev
                archive.add(path, arcname=path.name)
    (work / "Dockerfile").write_text(BASE_DOCKERFILE)
    engine.build(work, tag)
    run(["rm", "-rf", str(rootfs), str(work / "rootfs.tar")])
    return Build(tag, time.monotonic() - started)


def python_version(engine: Engine, tag: str) -> str:
    """The base image's Python, ``3.N``: the wheels a package carries must be for it."""
    script = "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"
    return engine.podman("run", "--rm", "--network", "none", *limit_options(), tag, "python", "-c", script)


def pip_settings(folder: Path) -> list[str]:
    """``buildah bud`` options that hand RUN steps this machine's pip settings (read by ``pip config list``).

    The settings (index, proxy, CA bundle: here a TLS-inspecting proxy's CA is in it) go into a
    pip.conf mounted at /etc/pip.conf for the build only, with the CA bundle they name.
    """
    listed = run([sys.executable, "-m", "pip", "config", "list"])
    settings: dict[str, str] = {}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        if name in PIP_SETTINGS or name == "default-timeout":
            settings["timeout" if name == "default-timeout" else name] = ast.literal_eval(value)
    conf = folder / "pip.conf"
    conf.write_text("[global]\n" + "".join(f"{name} = {value}\n" for name, value in settings.items()))
    mounts = ["--volume", f"{conf}:/etc/pip.conf:ro"]
    for name in ("cert", "client-cert"):
        if name in settings:
            mounts += ["--volume", f"{settings[name]}:{settings[name]}:ro"]
    return mounts
