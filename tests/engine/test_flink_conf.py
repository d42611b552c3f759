"""The shipped Flink configuration: one text in two places, and what the engine tests change in it."""

from __future__ import annotations

import pytest

from tests.engine import flink_conf

pytestmark = pytest.mark.engine


def test_the_kubernetes_configmap_holds_the_shipped_flink_conf_word_for_word() -> None:
    assert flink_conf.configmap_files()["flink-conf.yaml"] == flink_conf.SHIPPED.read_text(encoding="utf-8"), (
        "deploy/statefun/kubernetes/flink-config.yaml must hold deploy/statefun/flink-conf.yaml as it is"
    )


def test_statefun_requirements_are_in_the_shipped_conf() -> None:
    shipped = flink_conf.shipped()
    patterns = shipped["classloader.parent-first-patterns.additional"].split(";")
    assert {"org.apache.flink.statefun", "org.apache.kafka", "com.google.protobuf"} <= set(patterns)
    assert shipped["state.backend.rocksdb.timer-service.factory"].lower() == "rocksdb"  # StateFun refuses heap timers
    assert "execution.checkpointing.interval" in shipped


def test_a_line_that_is_not_key_colon_value_is_refused() -> None:
    with pytest.raises(ValueError, match="line 2"):
        flink_conf.parse("a: 1\nb=2\n")
    assert flink_conf.parse("# only\nkey: a:b # note\n\n") == {"key": "a:b"}
