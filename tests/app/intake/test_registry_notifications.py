"""A real registry's notifications reach a real Shipyard: docker-registry POSTs its events over
TCP to uvicorn serving the app; each event is its own stored delivery, the manifest push a
`package` event with the digest the push reported, the blob pushes stored and ignored."""

from __future__ import annotations

from pathlib import Path

from app.db.models.deliveries import Delivery
from app.main import create_app
from tests.support.database import stored
from tests.support.http import serving
from tests.support.registry import (
    OCI_MANIFEST,
    WEBHOOK_TOKEN,
    notification_headers,
    own_registry,
    push_image,
)
from tests.support.settings import make_settings
from tests.support.waiting import until

FINISHED = {"processed", "ignored", "failed"}


def finished(rows: list[Delivery], count: int) -> bool:
    return len(rows) >= count and all(row.status in FINISHED for row in rows)


async def test_a_push_to_a_real_registry_is_one_delivery_per_event(
    migrated: str, tmp_path: Path
) -> None:
    settings = make_settings(migrated, SHIPYARD_REGISTRY_WEBHOOK_TOKEN=WEBHOOK_TOKEN)
    async with serving(create_app(settings)) as url:
        headers = {"Authorization": notification_headers()["authorization"]}
        with own_registry(
            tmp_path / "registry", notify_url=f"{url}/webhooks/registry", notify_headers=headers
        ) as registry:
            pushed = await push_image(registry, "acme/web", "1.0")
            oci = await push_image(registry, "acme/api", "2.0", media_type=OCI_MANIFEST)
            # Each push is three events: its config blob, its layer blob, its manifest.
            rows = await until(lambda: stored(settings), lambda rows: finished(rows, 6))

    assert len(rows) == 6, [(row.event, row.status) for row in rows]
    assert {row.provider for row in rows} == {"registry"}
    assert len({row.delivery_id for row in rows}) == 6
    packages = [row for row in rows if row.kind == "package"]
    others = [row for row in rows if row.kind != "package"]
    assert [row.status for row in packages] == ["processed", "processed"]
    assert {(row.kind, row.status) for row in others} == {("other", "ignored")}
    found = {}
    for row in packages:
        assert row.normalised is not None
        package = row.normalised["package"]
        found[package["image"]] = (package["host"], package["tag"], package["digest"])
    assert found == {
        "acme/web": (registry.host, "1.0", pushed.digest),
        "acme/api": (registry.host, "2.0", oci.digest),
    }
