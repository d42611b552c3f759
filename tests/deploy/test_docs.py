"""The deploy quickstarts, run: every block not marked as needing a cloud, Docker or a cluster.

Files the docs show (``<!-- file: PATH -->`` before a block) are written, the shell blocks run
in order in one bash (as a reader would type them) in a scratch copy of examples/ and deploy/,
with the cloud's ``terraform output -json`` fixture as outputs.json (the step that would fetch
it needs the cloud). Then what they produced is checked.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from statefun_faas.moduleyaml.reader import load_module
from tests.deploy.module_cli import console_script
from tests.deploy.templates import FIXTURES, ROOT

NOT_RUN = {"needs-cloud", "needs-docker", "needs-cluster"}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.DOTALL | re.MULTILINE)
MARKER = re.compile(r"<!-- (.+?) -->\n$")


@dataclass
class Block:
    language: str
    text: str
    marker: str | None


def blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = MARKER.search(text[: match.start()])
        marker = before.group(1) if before and before.end() == match.start() else None
        found.append(Block(match.group(1), match.group(2), marker))
    return found


def _workspace(tmp_path: Path, outputs: str) -> Path:
    work = tmp_path / "work"
    skip = shutil.ignore_patterns("__pycache__", ".terraform*", "*.zip")
    for folder in ("examples", "deploy"):
        shutil.copytree(ROOT / folder, work / folder, ignore=skip)
    shutil.copyfile(FIXTURES / outputs, work / "outputs.json")
    return work


def _run_doc(doc: str, outputs: str, tmp_path: Path) -> tuple[Path, list[Block]]:
    work = _workspace(tmp_path, outputs)
    found = blocks(ROOT / doc)
    script = ["set -euo pipefail"]
    for block in found:
        if block.marker and block.marker.startswith("file: "):
            target = work / block.marker.removeprefix("file: ")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text, encoding="utf-8")
        elif block.language == "bash" and block.marker is None:
            script.append(block.text)
        else:
            assert block.marker is None or block.marker in NOT_RUN, f"{doc}: unknown marker {block.marker!r}"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("STATEFUN_", "AWS_"))}
    env["PATH"] = f"{Path(console_script()).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{doc}:\n{done.stdout}\n{done.stderr}"
    return work, found


def _python(work: Path, code: str) -> None:
    done = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def _endpoint_url(work: Path) -> str:
    module = load_module(work / "module.yaml")
    assert [ingress.id for ingress in module.ingresses] == ["io.statefun.playground/ingress"]
    endpoint = module.endpoint_for("example/greeter")
    assert endpoint is not None
    return endpoint.url_path_template


@pytest.mark.slow  # packages a Lambda zip: pip downloads protobuf for Lambda's platform
def test_aws_quickstart(tmp_path: Path) -> None:
    work, found = _run_doc("docs/deploy-aws.md", "terraform-output-aws.json", tmp_path)
    assert (work / "deploy" / "aws" / "lambda.zip").is_file()
    url = _endpoint_url(work)
    # the token the doc generated and exported (the outputs hold the secret's ARN, not the token)
    assert re.search(r"\.on\.aws/\{function\.name\}\?token=[0-9a-f]{64}$", url), url
    (shown,) = [yaml.safe_load(block.text) for block in found if block.language == "yaml"]
    written = next(yaml.safe_load_all((work / "module.yaml").read_text(encoding="utf-8")))
    assert shown["kind"] == written["kind"]
    assert shown["spec"].keys() == written["spec"].keys()
    assert shown["spec"]["transport"] == written["spec"]["transport"]


def _unzip(work: Path, name: str) -> None:
    """The package the doc built, unpacked into the folder named like it (tests/deploy/test_package_platforms.py
    installs and starts such packages)."""
    with zipfile.ZipFile(work / name) as archive:
        assert "requirements.txt" in archive.namelist()
        archive.extractall(work / Path(name).stem)


@pytest.mark.slow  # packages the source: pip downloads the wheels for the function's platform
def test_gcp_quickstart(tmp_path: Path) -> None:
    work, _ = _run_doc("docs/deploy-gcp.md", "terraform-output-gcp.json", tmp_path)
    assert _endpoint_url(work).startswith("https://statefun-functions-a1b2c3d4e5-ew.a.run.app/{function.name}?token=")
    _unzip(work, "source.zip")
    served = "import functions_framework as ff; client = ff.create_app('statefun', 'source/main.py').test_client(); "
    served += (
        "answer = client.get('/healthz'); assert (answer.status_code, answer.data) == (200, b'ok\\n'), answer.data"
    )
    _python(work, served)


@pytest.mark.slow  # packages the app: pip downloads the wheels for the Function App's platform
def test_azure_quickstart(tmp_path: Path) -> None:
    work, _ = _run_doc("docs/deploy-azure.md", "terraform-output-azure.json", tmp_path)
    assert _endpoint_url(work).startswith("https://statefun-greeter.azurewebsites.net/api/statefun?code=")
    _unzip(work, "app.zip")
    check = "import sys; sys.path.insert(0, 'app'); import function_app as m; "
    check += "names = [f.get_function_name() for f in m.app.get_functions()]; assert 'statefun' in names, names"
    _python(work, check)


def test_deploy_readme_runs_nothing_unmarked() -> None:
    found = blocks(ROOT / "deploy" / "README.md")
    assert [block.marker for block in found if block.language == "bash"] == ["needs-docker", "needs-cluster"]
