"""Every setting is documented: in the README, and (unless Heroku sets it) in app.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SET_BY_HEROKU = {"DATABASE_URL", "REDIS_URL", "PORT"}  # add-ons and the router set these


def setting_names() -> list[str]:
    return [str(field.validation_alias) for field in Settings.model_fields.values()]


@pytest.mark.parametrize("name", setting_names())
def test_the_readme_documents(name: str) -> None:
    assert f"`{name}`" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(set(setting_names()) - SET_BY_HEROKU))
def test_app_json_describes(name: str) -> None:
    env = json.loads((ROOT / "app.json").read_text())["env"]
    assert name in env
    assert len(env[name]["description"]) > 20


def test_app_json_has_the_add_ons() -> None:
    manifest = json.loads((ROOT / "app.json").read_text())
    plans = {addon["plan"].split(":")[0] for addon in manifest["addons"]}
    assert plans == {"heroku-postgresql", "heroku-redis"}
    assert manifest["env"]["GITHUB_WEBHOOK_SECRET"]["generator"] == "secret"
