"""Regenerate statefun_faas/_proto from the .proto files in this folder.

Run it with an interpreter that has exactly the pinned generator versions, e.g.::

    python -m venv /tmp/protogen
    /tmp/protogen/bin/pip install $(python protos/generate.py --requirements)
    /tmp/protogen/bin/python protos/generate.py

protoc 25 (grpcio-tools 1.62.3) writes code that loads without a warning on every
protobuf runtime from 4.21.12 to 7.x; newer generators pin the runtime's minimum version
to their own and would narrow the range users can install.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parent / "statefun_faas" / "_proto"
REQUIREMENTS = {"grpcio-tools": "1.62.3", "mypy-protobuf": "3.6.0", "protobuf": "4.25.9"}
PROTOS = ["request-reply.proto", "types.proto", "kafka-egress.proto", "kinesis-egress.proto"]


def check_versions() -> None:
    wrong = {
        name: metadata.version(name) if _installed(name) else "missing"
        for name, pinned in REQUIREMENTS.items()
        if not _installed(name) or metadata.version(name) != pinned
    }
    if wrong:
        pins = " ".join(f"{n}=={v}" for n, v in REQUIREMENTS.items())
        sys.exit(f"generator versions differ from the pins ({wrong}); install: pip install {pins}")


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def generate(out: Path) -> None:
    from grpc_tools import protoc

    plugin = shutil.which("protoc-gen-mypy", path=str(Path(sys.executable).parent))
    if plugin is None:
        sys.exit("protoc-gen-mypy not found next to this interpreter; install mypy-protobuf")
    out.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{HERE}",
        f"--python_out={out}",
        f"--mypy_out={out}",
        f"--plugin=protoc-gen-mypy={plugin}",
        *(str(HERE / name) for name in PROTOS),
    ]
    if protoc.main(args) != 0:
        sys.exit("protoc failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--requirements", action="store_true", help="print the pinned generator packages")
    options = parser.parse_args()
    if options.requirements:
        print(" ".join(f"{name}=={version}" for name, version in REQUIREMENTS.items()))
        return
    check_versions()
    generate(options.out)


if __name__ == "__main__":
    main()
