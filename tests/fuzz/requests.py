"""Strategies for the HTTP side of a request: methods, paths, queries, headers, bodies."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.adapters.conformance import GOOD, TOKENS
from tests.fuzz.wire import any_body

methods = st.one_of(st.sampled_from(["POST", "POST", "GET", "PUT", "post", "HEAD", "DELETE"]), st.text(max_size=10))
paths = st.one_of(
    st.sampled_from(["/", "/statefun", "/healthz", "/t/", f"/t/{TOKENS[1]}/x", f"/t/{GOOD}/healthz", "//t/x/"]),
    st.text(max_size=30).map(lambda rest: "/" + rest),
    st.text(max_size=20).map(lambda rest: f"/t/{GOOD}/{rest}"),
)
queries = st.one_of(
    st.sampled_from(["", f"token={GOOD}", f"token={TOKENS[1]}&token=x", "token=", "token", "%ff=%fe&token=%00"]),
    st.text(max_size=30),
    st.text(max_size=20).map(lambda rest: f"token={GOOD}&{rest}"),
)
#: Content-Length as servers may hand it over, valid or not.
lengths = st.one_of(
    st.none(),
    st.integers(0, 10**12).map(str),
    st.sampled_from(["", " 3 ", "-1", "1e3", "0x10", "\u00b2", "\u0663", "1,2", "9" * 40]),
    st.text(max_size=6),
)
bodies = any_body
