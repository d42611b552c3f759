"""Endpoint URL templates: token placement, and the mistakes the StateFun runtime would trip over."""

from __future__ import annotations

import pytest

from statefun_faas.deploy import DeployError
from statefun_faas.deploy.urls import PLACEHOLDER, Credentials, url_template

LAMBDA = "https://abc123.lambda-url.eu-west-1.on.aws/"
TOKEN = Credentials(token="s3cr3t-T0ken_~.")


def test_query_token_after_the_function_name_and_no_double_slash() -> None:
    assert url_template(LAMBDA, PLACEHOLDER, TOKEN) == (
        "https://abc123.lambda-url.eu-west-1.on.aws/{function.name}?token=s3cr3t-T0ken_~."
    )


def test_path_token_comes_first() -> None:
    credentials = Credentials(token="tok", token_style="path")
    assert url_template(LAMBDA, "greeter", credentials) == "https://abc123.lambda-url.eu-west-1.on.aws/t/tok/greeter"


def test_path_token_refused_behind_a_path() -> None:
    with pytest.raises(DeployError, match="use the query form"):
        url_template("https://app.example/api/", PLACEHOLDER, Credentials(token="tok", token_style="path"))


def test_azure_code_joins_an_existing_query() -> None:
    url = url_template("https://app.azurewebsites.net/api/statefun?x=1", "", Credentials(azure_code="k3y=="))
    assert url == "https://app.azurewebsites.net/api/statefun?x=1&code=k3y=="


def test_placeholder_already_in_the_url_is_kept_once() -> None:
    url = url_template(f"https://run.app/fn/{PLACEHOLDER}", PLACEHOLDER, Credentials())
    assert url == "https://run.app/fn/{function.name}"


def test_without_function_part_the_url_stays_as_given() -> None:
    assert url_template("https://run.app", "", Credentials()) == "https://run.app/"


@pytest.mark.parametrize(
    ("base", "credentials", "message"),
    [
        ("http://abc.on.aws/", TOKEN, "plain http"),
        ("abc.on.aws", TOKEN, "not an absolute"),
        ("ftp://abc.on.aws/", TOKEN, "not an absolute"),
        ("https://abc.on.aws//fn/", TOKEN, "'//'"),
        ("https://abc.on.aws/#top", TOKEN, "fragment"),
        ("https://abc.on.aws/{function.namespace}/", TOKEN, "placeholder other than"),
        (LAMBDA, Credentials(token="has space"), "need URL escaping"),
        (LAMBDA, Credentials(token="a%2Fb"), "need URL escaping"),
        (LAMBDA, Credentials(token=""), "empty"),
        (LAMBDA, Credentials(azure_code="a+b"), "need URL escaping"),
    ],
)
def test_refused(base: str, credentials: Credentials, message: str) -> None:
    with pytest.raises(DeployError, match=message):
        url_template(base, PLACEHOLDER, credentials)


def test_http_allowed_when_asked() -> None:
    assert url_template("http://127.0.0.1:8000", "fn", TOKEN, allow_http=True).startswith("http://127.0.0.1:8000/fn?")
