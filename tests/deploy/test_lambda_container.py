"""deploy/aws/container/Dockerfile, a container-image Lambda on a non-AWS base, its steps run in a fresh venv.

The recipe takes the unzipped output of ``statefun-faas package aws`` and adds AWS's Runtime
Interface Client (awslambdaric), which is the image's ENTRYPOINT. Here its steps run without a
container engine (tests/deploy/dockerfile.py; tests/deploy/test_images.py builds the image for
real where buildah and podman are installed): the RUN step installs awslambdaric into a fresh
venv, COPY lays the package out as /var/task, and the image's command runs with the Runtime API
of tests/adapters/lambda_runtime_emulator.py, so awslambdaric's own loop polls for Function URL
events and posts the handler's answers: every conformance request, real ToFunction bodies
among them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

import pytest

from statefun_faas.deploy.platforms import PLATFORMS
from tests.adapters.lambda_runtime_emulator import Runtime, RuntimeApiEmulator
from tests.deploy.dockerfile import Image, build, steps, venv_environment
from tests.deploy.lambda_image import HANDLER, RECIPE, answer_conformance, lambda_context, lambda_variables

HOST = f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_the_recipe_runs_the_packaged_handler_under_awslambdaric_as_a_non_root_user() -> None:
    instructions = dict(steps(RECIPE))
    assert instructions["ARG"] == f"BASE=python:{PLATFORMS['aws'].python}-slim-bookworm"
    assert instructions["WORKDIR"] == "/var/task"  # LAMBDA_TASK_ROOT, where the zip's .pyc were compiled for
    assert instructions["RUN"].split()[-1].startswith("awslambdaric==")  # pinned
    assert instructions["USER"].split(":")[0] not in {"0", "root"}
    assert json.loads(instructions["ENTRYPOINT"]) == ["python", "-m", "awslambdaric"]
    assert json.loads(instructions["CMD"]) == [HANDLER]


@pytest.mark.slow
def test_lambda_image_steps_in_a_fresh_venv_answer_through_awslambdaric_s_loop(tmp_path: Path) -> None:
    context = lambda_context(tmp_path / "lambda-image", HOST)
    venv.EnvBuilder(with_pip=True).create(tmp_path / "venv")
    env = venv_environment(tmp_path / "venv" / "bin")
    image: Image = build(context, tmp_path / "image", env)
    print(f"\nLambda image: RUN steps {image.seconds:.1f} s")
    assert image.command == ["python", "-m", "awslambdaric", HANDLER]
    where = subprocess.run(
        ["python", "-c", "import statefun_faas, awslambdaric; print(statefun_faas.__file__, awslambdaric.__file__)"],
        cwd=image.workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert where[0].startswith(str(image.workdir))  # statefun-faas from the zip's contents
    assert where[1].startswith(str(tmp_path / "venv"))  # awslambdaric from the RUN step
    api = RuntimeApiEmulator()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            image.command,
            cwd=image.workdir,
            env={**env, **lambda_variables(api)},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            answer_conformance(Runtime(api, process, output))
        finally:
            process.kill()
            process.wait()
            api.close()
