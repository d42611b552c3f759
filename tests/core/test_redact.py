"""URL redaction: every form a URL carries a secret in is hidden, the rest of the URL stays readable."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statefun_faas.redact import HIDDEN_URL, redact_url
from tests.fuzz.profiles import fuzz

SECRET = "s3cretT0ken"


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("https://h/fn?token=s3cretT0ken&x=1", "https://h/fn?token=***&x=1"),
        ("https://h/fn?%74oken=s3cretT0ken", "https://h/fn?%74oken=***"),  # parse_qs decodes keys: adapters accept it
        ("https://h/fn?%2574oken=s3cretT0ken", "https://h/fn?%2574oken=***"),  # decoded once more by a proxy
        ("https://h/fn?TOKEN=s3cretT0ken", "https://h/fn?TOKEN=***"),
        ("https://h/fn?to+ken=x&+token+=s3cretT0ken", "https://h/fn?to+ken=x&+token+=***"),
        ("https://h/fn?x=1;token=s3cretT0ken", "https://h/fn?x=1;token=***"),
        ("https://h/fn?token=a&token=s3cretT0ken", "https://h/fn?token=***&token=***"),
        (
            "https://app.azurewebsites.net/api/statefun?code=s3cretT0ken",
            "https://app.azurewebsites.net/api/statefun?code=***",
        ),
        ("https://h/fn?%63ode=s3cretT0ken", "https://h/fn?%63ode=***"),
        ("https://h/t/s3cretT0ken/{function.name}", "https://h/t/***/{function.name}"),
        ("https://h/%74/s3cretT0ken/{function.name}", "https://h/%74/***/{function.name}"),
        ("https://h/gateway/t/s3cretT0ken/fn", "https://h/gateway/t/***/fn"),  # behind a proxy's prefix
        ("http://user:s3cretT0ken@h:8000/fn", "http://***@h:8000/fn"),
        ("http://s3cretT0ken@h/fn", "http://***@h/fn"),
        ("http://u:p@s3cretT0ken@h/fn", "http://***@h/fn"),  # the last '@' ends the userinfo, as clients read it
        ("http://h/fn#token=s3cretT0ken", "http://h/fn#***"),
        ("/t/s3cretT0ken/fn?token=s3cretT0ken", "/t/***/fn?token=***"),  # a path with its query
        ("http+unix:///run/f.sock/fn?token=s3cretT0ken", "http+unix:///run/f.sock/fn?token=***"),
        ("http://h:8000/{function.name}", "http://h:8000/{function.name}"),
        ("https://[::1]:8443/fn?x=1", "https://[::1]:8443/fn?x=1"),
        # malformed: which part is the secret can not be told, so the whole URL is hidden
        ("http://user:s3cret/T0ken@h/fn", HIDDEN_URL),  # a '/' in the password ends the host early
        ("http://user:s3cret#T0ken@h/fn", HIDDEN_URL),
        ("http://user:s3cretT0ken/fn", HIDDEN_URL),  # the host forgotten: the password reads as a port
        ("http://[::1/t/s3cretT0ken", HIDDEN_URL),
        ("h:8000/fn?s3cretT0ken", HIDDEN_URL),  # no scheme://
        ("ht\ttp://user:s3cretT0ken@h/", HIDDEN_URL),
    ],
)
def test_every_form_of_credential_is_hidden(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted
    assert SECRET not in redact_url(url)


#: Tokens as configured; any character, carried percent-encoded. Prefixed so no other part of a URL contains one.
tokens = st.text(min_size=6, max_size=30).map(lambda text: "Sx" + text)
plain_tokens = st.text(st.sampled_from("abcXYZ019-._~"), min_size=6, max_size=30).map(lambda text: "Sx" + text)
FORMS = [
    "{base}/fn?token={t}",
    "{base}/fn?%74oken={t}",
    "{base}/fn?%54OKEN={t}",
    "{base}/fn?page=2&token={t}&x=y",
    "{base}/fn?code={t}",
    "{base}/t/{t}/fn",
    "{base}/%74/{t}/fn",
    "{scheme}://user:{t}@{host}/fn",
    "{scheme}://{t}@{host}/fn",
    "{base}/fn#{t}",
]
hosts = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){0,2}(:[1-9][0-9]{0,3})?", fullmatch=True)


@fuzz
@given(
    st.sampled_from(["http", "https"]),
    hosts,
    st.sampled_from(FORMS),
    st.one_of(tokens.map(lambda token: (token, quote(token, safe=""))), plain_tokens.map(lambda t: (t, t))),
    st.lists(st.sampled_from(["page=2", "x=", "y", "a%20b=c"]), max_size=3),
)
def test_no_token_survives_redaction(
    scheme: str, host: str, form: str, token: tuple[str, str], extra: list[str]
) -> None:
    configured, written = token
    url = form.format(base=f"{scheme}://{host}", scheme=scheme, host=host, t=written)
    if extra and "#" not in url:
        url += ("&" if "?" in url else "?") + "&".join(extra)
    redacted = redact_url(url)
    assert configured not in redacted
    assert written not in redacted
    assert redacted.startswith(f"{scheme}://"), "the rest of the URL stays readable"
    assert host in redacted
