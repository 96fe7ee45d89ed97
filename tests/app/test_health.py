"""`/readyz` names what is down, and the kind of error, never a traceback."""

from __future__ import annotations

from urllib.parse import urlsplit

from app.main import create_app
from tests.support.http import running
from tests.support.settings import make_settings
from tests.support.tcp import SwitchableProxy


def _through(proxy: SwitchableProxy, url: str) -> str:
    return urlsplit(url)._replace(netloc=f"127.0.0.1:{proxy.port}").geturl()


def _proxy_for(url: str, default_port: int) -> SwitchableProxy:
    parts = urlsplit(url)
    return SwitchableProxy(parts.hostname or "127.0.0.1", parts.port or default_port)


async def test_readyz_names_the_database_and_redis_when_they_are_down(
    postgres_migrated: str, redis_url: str
) -> None:
    migrated = postgres_migrated  # PostgreSQL: a database that can go away under the app
    database, redis = _proxy_for(migrated, 5432), _proxy_for(redis_url, 6379)
    await database.up()
    await redis.up()
    settings = make_settings(
        _through(database, migrated),
        REDIS_URL=_through(redis, redis_url),
    )
    try:
        async with running(create_app(settings)) as client:
            ready = await client.get("/readyz")
            assert (ready.status_code, ready.json()["checks"]) == (
                200,
                {"database": "ok", "redis": "ok"},
            )
            await database.down()
            await redis.down()
            ready = await client.get("/readyz")
    finally:
        await database.down()
        await redis.down()
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["redis"] == "unreachable: ConnectionError"
    assert checks["database"].startswith("unreachable: "), checks
    assert "Traceback" not in ready.text
