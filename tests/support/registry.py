"""A container registry of the test's own: Debian's `docker-registry` (the CNCF distribution
registry) on a free loopback port, storing on a temporary directory, with optional htpasswd
basic auth and a notifications endpoint; and pushing images to it over its own HTTP API.

Without the binary a test skips, except under CI=true, where it fails (.ci/run installs it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.http import free_port
from tests.support.services import IN_CI

__all__ = [
    "DOCKER_MANIFEST",
    "EVENTS_MEDIA_TYPE",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "WEBHOOK_TOKEN",
    "PushedImage",
    "Registry",
    "notification_headers",
    "own_registry",
    "push_image",
    "push_index",
    "require_registry",
]

REGISTRY_BINARY = "/usr/bin/docker-registry"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
EVENTS_MEDIA_TYPE = "application/vnd.docker.distribution.events.v1+json"
# SHIPYARD_REGISTRY_WEBHOOK_TOKEN in tests that take a registry's notifications.
WEBHOOK_TOKEN = "registry-test-token"


def notification_headers(token: str = WEBHOOK_TOKEN) -> dict[str, str]:
    """The headers a registry's notification endpoint sends, configured with `token`."""
    return {"authorization": f"Bearer {token}", "content-type": EVENTS_MEDIA_TYPE}


def require_registry() -> str:
    """The registry's binary (and htpasswd): skipped without them, failed under CI=true."""
    missing = [
        name
        for name, found in (
            (REGISTRY_BINARY, Path(REGISTRY_BINARY).is_file()),
            ("htpasswd", shutil.which("htpasswd") is not None),
        )
        if not found
    ]
    if missing:
        message = (
            f"{' and '.join(missing)} not installed (apt-get install docker-registry apache2-utils)"
        )
        if IN_CI:
            pytest.fail(f"{message}; CI must run this test")
        pytest.skip(message)
    return REGISTRY_BINARY


@dataclass
class Registry:
    """A running registry: `host` is how clients name it ("127.0.0.1:PORT")."""

    host: str
    directory: Path
    users: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def log(self) -> str:
        """What the registry wrote (for a failing test's message)."""
        path = self.directory / "registry.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def auth(self) -> httpx.BasicAuth | None:
        """Basic auth as the first user, when the registry has users."""
        if not self.users:
            return None
        user, password = next(iter(self.users.items()))
        return httpx.BasicAuth(user, password)


def _config(
    port: int,
    storage: Path,
    *,
    htpasswd: Path | None,
    notify_url: str | None,
    notify_headers: Mapping[str, str],
) -> str:
    """The registry's config.yml (JSON is YAML)."""
    config: dict[str, object] = {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "shipyard-test-registry"},
    }
    if htpasswd is not None:
        config["auth"] = {"htpasswd": {"realm": "shipyard-test", "path": str(htpasswd)}}
    if notify_url is not None:
        endpoint = {
            "name": "shipyard",
            "url": notify_url,
            "headers": {name: [value] for name, value in notify_headers.items()},
            "timeout": "5s",
            "threshold": 1,
            "backoff": "100ms",
        }
        config["notifications"] = {"endpoints": [endpoint]}
    return json.dumps(config, indent=2)


def _htpasswd(path: Path, users: Mapping[str, str]) -> None:
    """bcrypt entries (the only kind the registry reads), written by apache2-utils' htpasswd."""
    lines = []
    for user, password in users.items():
        made = subprocess.run(
            ["htpasswd", "-nbB", user, password], check=True, capture_output=True, text=True
        )
        lines.append(made.stdout.strip())
    path.write_text("\n".join(lines) + "\n")


@contextlib.contextmanager
def own_registry(
    directory: Path,
    *,
    users: Mapping[str, str] | None = None,
    notify_url: str | None = None,
    notify_headers: Mapping[str, str] | None = None,
) -> Iterator[Registry]:
    """A started registry storing under `directory`; with `users` it asks for basic auth,
    with `notify_url` it POSTs its event envelopes there (one try at a time, again every
    100 ms until one is answered 2xx), with `notify_headers` on each."""
    binary = require_registry()
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    htpasswd = None
    if users:
        htpasswd = directory / "htpasswd"
        _htpasswd(htpasswd, users)
    config = directory / "config.yml"
    config.write_text(
        _config(
            port,
            directory / "storage",
            htpasswd=htpasswd,
            notify_url=notify_url,
            notify_headers=notify_headers or {},
        )
    )
    registry = Registry(host=f"127.0.0.1:{port}", directory=directory, users=dict(users or {}))
    with (directory / "registry.log").open("wb") as log:
        registry.process = subprocess.Popen(
            [binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_up(registry)
        yield registry
    finally:
        registry.process.terminate()
        try:
            registry.process.wait(10)
        except subprocess.TimeoutExpired:
            registry.process.kill()
            registry.process.wait(10)


def _wait_up(registry: Registry) -> None:
    """Until `GET /v2/` answers (200, or 401 with auth on)."""
    assert registry.process is not None
    for _ in range(1000):
        if registry.process.poll() is not None:
            raise AssertionError(f"docker-registry exited:\n{registry.log}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{registry.url}/v2/", timeout=1).status_code in (200, 401):
                return
        time.sleep(0.01)
    raise AssertionError(f"docker-registry did not answer on {registry.host}:\n{registry.log}")


# --- pushing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushedImage:
    """What `push_image` pushed: the manifest's digest as the registry reported it, its media
    type and bytes, and the digests of its config and layer blobs."""

    name: str
    tag: str
    digest: str
    media_type: str
    manifest: bytes
    config_digest: str
    layer_digest: str


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def _push_blob(client: httpx.AsyncClient, name: str, data: bytes) -> str:
    """A monolithic upload: POST starts it, PUT ?digest= sends the bytes and ends it."""
    digest = _sha256(data)
    started = await client.post(f"/v2/{name}/blobs/uploads/")
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    done = await client.put(
        httpx.URL(location).copy_merge_params({"digest": digest}),  # keeps the upload's state
        content=data,
        headers={"content-type": "application/octet-stream"},
    )
    assert done.status_code == 201, done.text
    assert done.headers["docker-content-digest"] == digest
    return digest


async def push_image(
    registry: Registry,
    name: str,
    tag: str,
    *,
    media_type: str = DOCKER_MANIFEST,
    layer: bytes | None = None,
) -> PushedImage:
    """Push a small image (a config blob, one layer, the manifest under `tag`) as a client
    would; returns the digest the registry answered the manifest PUT with. `layer` defaults to
    bytes made from name and tag, so that each image differs."""
    oci = media_type == OCI_MANIFEST
    layer = layer if layer is not None else f"layer of {name}:{tag}".encode()
    image_config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}},
        sort_keys=True,
    ).encode()
    async with httpx.AsyncClient(base_url=registry.url, auth=registry.auth(), timeout=10) as client:
        config_digest = await _push_blob(client, name, image_config)
        layer_digest = await _push_blob(client, name, layer)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": media_type,
                "config": {
                    "mediaType": OCI_CONFIG if oci else DOCKER_CONFIG,
                    "size": len(image_config),
                    "digest": config_digest,
                },
                "layers": [
                    {
                        "mediaType": OCI_LAYER if oci else DOCKER_LAYER,
                        "size": len(layer),
                        "digest": layer_digest,
                    }
                ],
            },
            indent=3,
        ).encode()
        put = await client.put(
            f"/v2/{name}/manifests/{tag}",
            content=manifest,
            headers={"content-type": media_type},
        )
    assert put.status_code == 201, put.text
    digest = put.headers["docker-content-digest"]
    assert digest == _sha256(manifest)
    return PushedImage(name, tag, digest, media_type, manifest, config_digest, layer_digest)


async def push_index(
    registry: Registry, name: str, tag: str, images: list[PushedImage]
) -> PushedImage:
    """Push an OCI image index (a multi-platform tag) over `images`, already pushed to `name`;
    returns the index's digest as the registry reported it (config and layer digests empty)."""
    platforms = [("amd64", "linux"), ("arm64", "linux"), ("s390x", "linux")]
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": image.media_type,
                    "size": len(image.manifest),
                    "digest": image.digest,
                    "platform": {"architecture": arch, "os": system},
                }
                for image, (arch, system) in zip(images, platforms, strict=False)
            ],
        },
        indent=2,
    ).encode()
    async with httpx.AsyncClient(base_url=registry.url, auth=registry.auth(), timeout=10) as client:
        put = await client.put(
            f"/v2/{name}/manifests/{tag}", content=index, headers={"content-type": OCI_INDEX}
        )
    assert put.status_code == 201, put.text
    digest = put.headers["docker-content-digest"]
    assert digest == _sha256(index)
    return PushedImage(name, tag, digest, OCI_INDEX, index, "", "")
