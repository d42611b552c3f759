"""module.yaml under hostile or careless input: bounded parsing, no secret in an error, every warning printed."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from statefun_faas.moduleyaml.reader import ModuleError, load_module, parse_module
from statefun_faas.moduleyaml.yaml_lines import MAX_ALIASED_NODES, MAX_BYTES, MAX_DEPTH

SECRET = "s3cretT0ken"
ENDPOINT = "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: a.b/*\n  urlPathTemplate: {url}\n"


def merge_bomb(levels: int = 20, fanout: int = 10) -> str:
    """An endpoint whose spec merges an anchor that merges the one before it ``fanout`` times, ``levels`` deep."""
    lines = ["kind: io.statefun.endpoints.v2/http", "x:", "  - &a0 {k: 0}"]
    for level in range(1, levels + 1):
        lines.append(f"  - &a{level} {{<<: [{', '.join([f'*a{level - 1}'] * fanout)}]}}")
    lines += ["spec:", f"  <<: *a{levels}", "  functions: a.b/*", "  urlPathTemplate: http://f/{function.name}", ""]
    return "\n".join(lines)


def test_a_merge_key_bomb_is_refused_at_once(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(merge_bomb())
    assert bomb.stat().st_size == 1545  # 10**20 values written out
    script = (
        "import sys\nfrom statefun_faas.moduleyaml.reader import ModuleError, load_module\n"
        "try:\n    load_module(sys.argv[1])\nexcept ModuleError as error:\n    print(error)\n"
    )
    try:  # in a process of its own: before the bound, loading this never finished
        done = subprocess.run(
            [sys.executable, "-c", script, str(bomb)], capture_output=True, text=True, timeout=30, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail("a 1.5 KB merge-key bomb was still loading after 30 s")
    assert done.stdout.strip() == (
        f"{bomb}:7: aliases expand to more than {MAX_ALIASED_NODES} values; "
        "write the repeated parts out, or share fewer of them by alias"
    ), done.stderr


def test_anchors_shared_within_the_bound_still_load() -> None:
    routes = "".join(f"    - {{<<: *route, topic: t{i}}}\n" for i in range(1, 300))
    text = (
        "kind: io.statefun.kafka.v1/ingress\nspec:\n  id: a.b/in\n  address: kafka:9092\n  consumerGroupId: g\n"
        "  topics:\n    - &route {topic: t0, valueType: a.b/V, targets: [a.b/f]}\n" + routes
    )
    (ingress,) = parse_module(text).ingresses
    assert len(ingress.routes) == 300
    assert {(route.value_type, route.targets) for route in ingress.routes} == {("a.b/V", ("a.b/f",))}


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), 1, f"nests deeper than {MAX_DEPTH} levels"),
        (
            "".join(f"{'  ' * level}x{level}:\n" for level in range(MAX_DEPTH + 1)) + "  " * MAX_DEPTH + "y: 1\n",
            65,
            "nests",
        ),
        ("kind: io.statefun.endpoints.v2/http\nspec: &s\n  <<: *s\n", 3, "alias *s is inside its own anchor"),
        ("kind: io.statefun.endpoints.v2/http\nspec: &s [1, [*s]]\n", 2, "alias *s is inside its own anchor"),
    ],
    ids=["flow", "block", "merge loop", "list loop"],
)
def test_deep_nesting_and_alias_loops_are_refused_with_their_line(text: str, line: int, problem: str) -> None:
    with pytest.raises(ModuleError) as caught:
        parse_module(text, "m.yaml")
    assert (caught.value.file, caught.value.line) == ("m.yaml", line)
    assert problem in str(caught.value)
    assert caught.value.fix


def test_a_file_over_the_size_bound_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    big = tmp_path / "module.yaml"
    big.write_text(ENDPOINT.format(url="http://f/") + "#" * MAX_BYTES)
    with pytest.raises(ModuleError, match=r"module.yaml: is larger than 1 MiB; a module.yaml is a few KB"):
        load_module(big)
    with pytest.raises(ModuleError, match="is larger than 1 MiB"):
        parse_module(big.read_text(), "module.yaml")


@pytest.mark.parametrize(
    "url",
    [
        f"ftp://user:{SECRET}@f/{{function.name}}?token={SECRET}",  # a bad scheme
        f"http://f/{{function.name}}/{{function.id}}?%74oken={SECRET}",  # an unknown placeholder
        f"http://f/t/{SECRET}/{{function.name",  # an unbalanced brace
        f"http://{{function.name}}:8000/?code={SECRET}",  # the name in the host
        f"http://user:{SECRET}@/fn",  # no host
        f"http://user:{SECRET}/fn",  # the host forgotten: the password reads as a port
        f"http://user:{SECRET}@[::1/fn",  # an unclosed IPv6 host
    ],
)
def test_url_errors_never_show_credentials(url: str) -> None:
    with pytest.raises(ModuleError) as caught:
        parse_module(ENDPOINT.format(url=f"'{url}'"), "m.yaml")
    assert (caught.value.line, caught.value.field) == (4, "spec.urlPathTemplate")
    assert SECRET not in str(caught.value)


def test_every_warning_is_logged_when_a_module_file_is_loaded(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "module.yaml"
    path.write_text(ENDPOINT.format(url="http://f/") + "  maxNumBatchRequest: 10\n  timeout: 5s\n")
    with caplog.at_level(logging.WARNING, logger="statefun_faas.runtime"):
        module = load_module(path)
    assert len(module.warnings) == 2
    assert [record.getMessage() for record in caplog.records] == list(module.warnings)
    assert (
        f"{path}:5: spec.maxNumBatchRequest: unknown field, ignored; did you mean maxNumBatchRequests?" in caplog.text
    )
