"""The platforms ``statefun-faas package`` builds for: each one's entry file, adapter extra and defaults.

``aws`` is the Lambda zip, its dependencies installed into it. ``gcp``, ``azure`` and ``container``
are source packages: the platform runs ``pip install -r requirements.txt`` itself (Cloud
Functions' buildpack, Azure's remote build, the Dockerfile), so they carry every wheel in
``vendor/`` and a requirements.txt that installs from there only (statefun-faas is not on PyPI).
"""

from __future__ import annotations

from dataclasses import dataclass

from statefun_faas.deploy.lambda_platform import manylinux_tags, platform_tags


@dataclass(frozen=True)
class Platform:
    name: str
    title: str
    entry: str  # the module the platform imports
    adapter: str  # statefun_faas.adapters.<adapter>
    factory: str  # the adapter's function that wraps the registry
    attribute: str  # the name the platform looks up in the entry module
    output: str  # default of -o
    python: str  # default of --python: the runtime the templates under deploy/ name
    arches: tuple[str, ...]  # the first is the default of --arch
    extra: str  # the statefun-faas extra of the adapter (and of the container's server, uvicorn)
    glibc: int | None = None  # glibc 2.N of the platform's build image; None: Lambda's, by Python version
    options: str = ""  # more arguments of the factory call
    note: str = ""  # a comment above the call

    def tags(self, python: str, arch: str) -> list[str]:
        """pip ``--platform`` values of the wheels this platform runs."""
        return platform_tags(python, arch) if self.glibc is None else manylinux_tags(self.glibc, arch)

    def entry_source(self, module: str, attribute: str) -> str:
        """The entry module: the platform's callable serving the registry ``module.attribute``."""
        return (
            f'"""{self.title} entry point, written by `statefun-faas package {self.name}`."""\n\n'
            f"from statefun_faas.adapters.{self.adapter} import {self.factory}\n\n"
            f"from {module} import {attribute} as _functions\n\n"
            + (f"# {self.note}\n" if self.note else "")
            + f"{self.attribute} = {self.factory}(_functions{self.options})\n"
        )


PORT = 8080  # the container's port when $PORT is unset (Cloud Run's default)
PLATFORMS = {
    "aws": Platform(
        name="aws",
        title="Lambda",
        entry="statefun_handler",
        adapter="aws_lambda",
        factory="lambda_handler",
        attribute="handler",
        output="lambda.zip",
        python="3.13",
        arches=("arm64", "x86_64"),
        extra="aws",
    ),
    "gcp": Platform(  # Cloud Functions (2nd gen) build on Ubuntu 22.04, start main.py's --entry-point statefun
        name="gcp",
        title="Cloud Functions (functions-framework)",
        entry="main",
        adapter="gcp",
        factory="http_function",
        attribute="statefun",
        output="source.zip",
        python="3.13",
        arches=("x86_64",),
        extra="gcp",
        glibc=35,
    ),
    "azure": Platform(  # Azure's Linux Python images are Debian 11 or 12; the worker indexes function_app.py
        name="azure",
        title="Azure Functions",
        entry="function_app",
        adapter="azure",
        factory="function_app",
        attribute="app",
        output="app.zip",
        python="3.12",
        arches=("x86_64",),
        extra="azure",
        glibc=31,
        options=", tokens=None",
        note="The host checks the function key (?code=); STATEFUN_FAAS_TOKENS, when set, adds the URL token check.",
    ),
    "container": Platform(  # the Dockerfile's base image is Debian 12 (bookworm)
        name="container",
        title="Container (uvicorn)",
        entry="main",
        adapter="asgi",
        factory="asgi_app",
        attribute="app",
        output="container",
        python="3.13",
        arches=("x86_64", "arm64"),
        extra="asgi",
        glibc=36,
    ),
}


def platform_files(platform: Platform, python: str, code: list[str]) -> dict[str, str]:
    """Files besides the code and requirements.txt: Azure's host.json, the container's Dockerfile."""
    if platform.name == "azure":
        return {"host.json": '{"version": "2.0"}\n'}
    if platform.name == "container":
        return {"Dockerfile": dockerfile(python, code)}
    return {}


def dockerfile(python: str, code: list[str]) -> str:
    """The function server's image: the wheels installed offline, the code, uvicorn as a non-root user.

    ``code`` are the package's top-level code files and folders (the entry module, the user's
    modules), copied by name so that vendor/ is not copied twice.
    """
    files = [name for name in code if name.endswith(".py")]
    copies = [f"COPY {' '.join(files)} ./"] + [f"COPY {name} ./{name}" for name in code if name not in files]
    return "\n".join(
        [
            "# The function server, written by `statefun-faas package container`: docker build -t functions .",
            "# Pin the base image by digest with --build-arg BASE=python:...@sha256:<digest> for reproducible builds.",
            f"ARG BASE=python:{python}-slim-bookworm",
            "FROM ${BASE}",
            "ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1",
            "ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore",
            "WORKDIR /app",
            "COPY requirements.txt ./",
            "COPY vendor ./vendor",
            "RUN pip install --no-cache-dir -r requirements.txt",
            *copies,
            "USER 10001:10001",
            f"EXPOSE {PORT}",
            "# Cloud Run sets $PORT. uvicorn is PID 1 (exec): on SIGTERM it ends the requests in flight, then exits.",
            f'CMD exec uvicorn main:app --host 0.0.0.0 --port "${{PORT:-{PORT}}}" --no-access-log',
            "",
        ]
    )
