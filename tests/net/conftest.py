"""Fixtures for network tests: a fake web on 127.0.0.1 and a resolver that maps *.test names to it."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest

from generator.net.client import NameNotResolved, Resolver

from .fakeweb import FakeWeb, running


@pytest.fixture()
def web() -> Iterator[FakeWeb]:
    with running(latency=0.02) as server:
        yield server


def resolver_for(web: FakeWeb) -> Resolver:
    """Names ending in .test go to the fake web; IP literals go where they say; anything else does not exist."""

    async def resolve(host: str, port: int) -> list[tuple[str, int]]:
        if host.endswith(".test"):
            return [("127.0.0.1", web.port)]
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise NameNotResolved(host) from None
        return [(host, port)]

    return resolve
