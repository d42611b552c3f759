"""A container-image Lambda (deploy/aws/container/Dockerfile): its build context and its Runtime API's side."""

from __future__ import annotations

import zipfile
from pathlib import Path

from statefun_faas.deploy.platforms import PLATFORMS
from tests.adapters.conformance import CASES, MAX_BODY, MAX_INVOCATIONS, TOKENS, check
from tests.adapters.lambda_events import case_event, unpack
from tests.adapters.lambda_runtime_emulator import Runtime, RuntimeApiEmulator, runtime_env
from tests.deploy.module_cli import run_console

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "deploy" / "aws" / "container" / "Dockerfile"
TARGET = ROOT / "tests" / "adapters" / "conformance_functions.py"
#: The tokens and limits the conformance requests expect, as the function's environment gives them.
SETTINGS = {
    "STATEFUN_FAAS_TOKENS": ",".join(TOKENS),
    "STATEFUN_FAAS_MAX_BODY_BYTES": str(MAX_BODY),
    "STATEFUN_FAAS_MAX_INVOCATIONS": str(MAX_INVOCATIONS),
}
HANDLER = f"{PLATFORMS['aws'].entry}.{PLATFORMS['aws'].attribute}"


def lambda_context(folder: Path, python: str) -> Path:
    """The build context the recipe's comment lays out: ``package aws`` unzipped into task/, the Dockerfile."""
    folder.mkdir(parents=True)
    output = folder.parent / f"{folder.name}.zip"
    args = ["package", "aws", f"{TARGET}:functions", "-o", str(output), "--python", python, "--arch", "x86_64"]
    result = run_console(args, cwd=folder.parent)
    assert result.code == 0, result.err
    with zipfile.ZipFile(output) as archive:
        archive.extractall(folder / "task")
    (folder / "Dockerfile").write_bytes(RECIPE.read_bytes())
    return folder


def lambda_variables(api: RuntimeApiEmulator) -> dict[str, str]:
    """What Lambda sets in the function's environment (the Runtime API's address first), and the tokens and limits."""
    variables = runtime_env(api, Path("/var/task"), HANDLER)
    lambda_names = {key: value for key, value in variables.items() if key.startswith(("AWS_", "LAMBDA_", "_HANDLER"))}
    return {**lambda_names, **SETTINGS}


def answer_conformance(runtime: Runtime) -> None:
    """Every conformance request as a Function URL event through the runtime's loop; no init error."""
    for case in CASES:
        result = runtime.invoke(case_event("function_url", case))
        assert result.kind == "response", f"{case.name}: {result.payload}\n{runtime.log()}"
        check(case, *unpack(result.payload))
    assert runtime.api.init_errors == []
