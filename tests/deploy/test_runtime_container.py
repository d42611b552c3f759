"""deploy/runtime/Dockerfile, the local runtime's image, its steps proven without a container engine.

The image itself is built by buildah and run by podman in tests/deploy/test_images.py (a CI step
of its own, root only). Here, wherever the tests run, the Dockerfile's own steps run in a fresh
venv from the repository's files (tests/deploy/dockerfile.py):
the wheel stage builds statefun-faas from the sources, the image stage installs it with the
``[runtime]`` extra. Then the ENTRYPOINT runs as the image would, with the greeter example's
module.yaml mounted at /config (its ports moved to free ones) and the greeter served by
``statefun-faas serve``: one message in through the playground ingress, the greeting out of the
egress, and SIGTERM to PID 1 ends it with exit 0.
"""

from __future__ import annotations

import json
import signal
import venv
from pathlib import Path

import pytest

from statefun_faas.deploy.platforms import PLATFORMS
from tests.adapters.support import free_port, running
from tests.deploy.dockerfile import Image, build, steps, venv_environment
from tests.deploy.greeter import GREETER, greet, greeting, module_yaml

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = ROOT / "deploy" / "runtime"
MOUNTS = ("/config/", "/state")  # where `docker run -v` puts module.yaml and the state volume


def _image(tmp_path: Path, env: dict[str, str]) -> Image:
    """The Dockerfile (in deploy/runtime) built with the repository's root as its context, as documented."""
    context = tmp_path / "context"
    context.mkdir()
    for name in ("pyproject.toml", "README.md", "adapters", "statefun_faas"):
        (context / name).symlink_to(ROOT / name)
    (context / "Dockerfile").symlink_to(CONTEXT / "Dockerfile")
    return build(context, tmp_path / "image", env)


def _mounted(image: Image, command: list[str]) -> list[str]:
    """The command with the mounted paths under the image's root folder."""
    return [str(image.root / word.lstrip("/")) if word.startswith(MOUNTS) else word for word in command]


def test_the_recipe_is_small_pinned_non_root_and_runs_statefun_faas_as_pid_1() -> None:
    instructions = steps(CONTEXT / "Dockerfile")
    python = PLATFORMS["container"].python  # the function server's image and this one share their base
    assert ("ARG", f"BASE=python:{python}-slim-bookworm") in instructions
    assert dict(instructions)["USER"].split(":")[0] not in {"0", "root"}
    assert ("VOLUME", "/state") in instructions
    assert ("EXPOSE", "8090 8091") in instructions
    entrypoint = json.loads(dict(instructions)["ENTRYPOINT"])  # exec form: the runtime gets SIGTERM itself
    assert entrypoint[:2] == ["statefun-faas", "run"]
    assert entrypoint[2:] == ["--module", "/config/module.yaml", "--state", "/state", "--host", "0.0.0.0"]


@pytest.mark.slow
def test_runtime_image_steps_build_in_a_fresh_venv_and_run_the_greeter_until_sigterm(tmp_path: Path) -> None:
    venv.EnvBuilder(with_pip=True).create(tmp_path / "venv")
    env = venv_environment(tmp_path / "venv" / "bin")
    image = _image(tmp_path, env)
    print(f"\nruntime image: RUN steps {image.seconds:.1f} s")
    function, ingress, egress = free_port(), free_port(), free_port()
    (image.root / "config").mkdir()
    (image.root / "config" / "module.yaml").write_text(module_yaml(function, ingress, egress))
    serve = ["statefun-faas", "serve", str(GREETER / "functions.py"), "--port", str(function)]
    with (
        running(serve, tmp_path / "functions.log", env, cwd=tmp_path) as functions,
        running(_mounted(image, image.command), tmp_path / "runtime.log", env, cwd=image.workdir) as runtime,
    ):
        functions.wait_for_port(function)
        runtime.wait_for_port(ingress)
        greet(ingress, "Bob")
        assert "Hello there Bob" in greeting(egress)
        runtime.process.send_signal(signal.SIGTERM)
        assert runtime.process.wait(timeout=15) == 0, runtime.output()[-3000:]
    assert any((image.root / "state").iterdir())  # the state went to the volume's folder
