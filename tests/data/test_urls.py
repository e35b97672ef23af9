"""The URL parse and the address policy of image downloads: pure functions, known answers."""

from __future__ import annotations

import ipaddress

import pytest

from mmrec_core.data.urls import Missing, Target, is_public, parse_url


@pytest.mark.parametrize("address, public", [
    ("93.184.215.14", True), ("8.8.8.8", True), ("2606:4700:4700::1111", True),
    ("2002:5db8:d70e::1", True),  # 6to4 of a public address
    ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8
    ("127.0.0.1", False), ("10.0.0.1", False), ("172.16.0.1", False), ("192.168.1.1", False),
    ("100.64.0.1", False), ("100.100.100.200", False), ("169.254.169.254", False), ("0.0.0.0", False),
    ("224.0.0.1", False), ("239.255.255.250", False), ("240.0.0.1", False), ("192.0.2.1", False),
    ("::1", False), ("::", False), ("fe80::1", False), ("fc00::1", False), ("ff05::1", False),
    ("::ffff:127.0.0.1", False), ("2002:7f00::1", False), ("2002:0a00:0001::1", False),
    ("64:ff9b::7f00:1", False), ("64:ff9b::a00:1", False), ("::7f00:1", False), ("::ffff:0:7f00:1", False),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False), ("2001:db8::1", False),
])
def test_only_global_unicast_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


def test_parse_url_names_what_is_connected_to() -> None:
    assert parse_url("HTTPS://Images.Example.COM/a b.jpg?x=1 2#frag") == Target(
        "https", "images.example.com", 443, "/a%20b.jpg?x=1%202")
    assert parse_url("http://[::1]:8080") == Target("http", "::1", 8080, "/")
    assert parse_url("http://bücher.example/x.png").host == "xn--bcher-kva.example"


@pytest.mark.parametrize("url, reason", [
    ("http://127.0.0.1:80\\@1.1.1.1/x.png", "bad url"), ("http://u:p@example.com/x", "bad url"),
    ("http://example.com:65536/", "bad url"), ("http://example.com:-1/", "bad url"),
    ("http://exa mple.com/", "bad url"), ("http://example.com/\x00", "bad url"), ("http://./x", "bad url"),
    ("ftp://example.com/x", "unsupported scheme"), ("javascript:alert(1)", "unsupported scheme"),
])
def test_parse_url_refuses_what_parsers_disagree_on(url: str, reason: str) -> None:
    with pytest.raises(Missing) as caught:
        parse_url(url)
    assert caught.value.reason == reason
