"""Politeness and address rules of the shared HTTP client."""

from __future__ import annotations

import asyncio
import time

import pytest

from generator.net.client import (
    ClientSettings,
    Politeness,
    headers_for,
    host_key,
    is_public_address,
)


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://Example.org/a", "example.org"),
        ("https://example.org:443/a", "example.org"),
        ("http://example.org:8080/", "example.org:8080"),
        ("http://127.0.0.1:5000/x", "127.0.0.1:5000"),
    ],
)
def test_host_key(url: str, key: str) -> None:
    assert host_key(url) == key


@pytest.mark.parametrize(
    ("ip", "public"),
    [
        ("93.184.216.34", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.10", False),
        ("169.254.169.254", False),  # cloud metadata, link-local
        ("::1", False),
        ("fe80::1%eth0", False),
        ("::ffff:127.0.0.1", False),
        ("2606:4700::1111", True),
    ],
)
def test_public_addresses(ip: str, public: bool) -> None:
    assert is_public_address(ip) is public


def test_headers_apply_to_a_domain_and_its_subdomains() -> None:
    settings = ClientSettings(user_agent="x", headers=(("github.com", (("Authorization", "t"),)),))
    assert headers_for(settings, "github.com") == {"Authorization": "t"}
    assert headers_for(settings, "api.github.com") == {"Authorization": "t"}
    assert headers_for(settings, "notgithub.com") == {}


def test_a_deferred_host_holds_no_global_slot() -> None:
    async def scenario() -> tuple[float, float]:
        polite = Politeness(concurrency=1, per_host=1, interval=0.0)
        polite.defer("slow.example", 0.5)
        started = time.monotonic()
        done: dict[str, float] = {}

        async def one(host: str) -> None:
            async with polite.slot(host):
                await asyncio.sleep(0.01)
            done[host] = time.monotonic() - started

        await asyncio.gather(one("slow.example"), one("fast.example"))
        return done["fast.example"], done["slow.example"]

    fast, slow = asyncio.run(scenario())
    assert fast < 0.2  # the only global slot was free while the slow host waited
    assert slow >= 0.5


def test_slow_lane_allows_one_request_at_a_time() -> None:
    async def scenario() -> int:
        polite = Politeness(concurrency=8, per_host=4, interval=0.0)
        polite.mark_slow("h")

        async def one() -> None:
            async with polite.slot("h"):
                await asyncio.sleep(0.02)

        await asyncio.gather(*(one() for _ in range(6)))
        return polite.peak("h")

    assert asyncio.run(scenario()) == 1
