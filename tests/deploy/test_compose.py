"""docker-compose.yml, checked as data: `docker compose config` cannot run on this
machine (no Docker engine or compose plugin), so PyYAML reads the file (with its
anchors and merge keys resolved) and the checks below stand in for it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
APP_SERVICES = ("migrate", "web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def test_the_processes_of_the_design_are_all_there(services):
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat", "sandbox"}
    # ASGI: the pages and the live-update stream (studio/asgi.py).
    assert services["web"]["command"][:2] == ["uvicorn", "studio.asgi:application"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "studio", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "studio", "beat"]
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"


def test_long_running_services_have_healthchecks(services):
    for name in ("postgres", "redis", "web", "worker", "beat", "sandbox"):
        check = services[name].get("healthcheck")
        assert check, name
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert all(re.fullmatch(r"\d+[ms]", check[k]) for k in ("interval", "timeout")), name
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert "/_health" in " ".join(services["sandbox"]["healthcheck"]["test"])


def test_start_order_is_expressed_with_conditions(services):
    for name, service in services.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in services, (name, target)
            assert rule["condition"] in CONDITIONS, (name, target)
    for name in APP_SERVICES:
        needs = services[name]["depends_on"]
        assert needs["postgres"]["condition"] == "service_healthy", name
        assert needs["redis"]["condition"] == "service_healthy", name
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def test_the_sandbox_is_optional_under_a_profile(services):
    assert services["sandbox"]["profiles"] == ["sandbox"]
    assert not services["sandbox"].get("depends_on")
    for name, service in services.items():
        rule = (service.get("depends_on") or {}).get("sandbox")
        if rule is not None:  # waiting for it must not require the profile
            assert rule["required"] is False, name
    assert all("profiles" not in services[n] for n in services if n != "sandbox")


def test_the_app_runs_on_postgresql_and_redis_with_production_settings(services):
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://"), name
        assert env["REDIS_URL"] == "redis://redis:6379/0", name
        assert env["DJANGO_DEBUG"] == "0", name
        assert "DJANGO_SECRET_KEY" in env, name
    assert services["web"]["depends_on"] and services["web"]["ports"]
    # Shared media for web (serving) and worker (storing).
    assert services["web"]["volumes"] == services["worker"]["volumes"] == ["media:/data/media"]


def test_named_volumes_are_declared(compose, services):
    used = {
        volume.split(":", 1)[0]
        for service in services.values()
        for volume in service.get("volumes") or []
    }
    assert used <= set(compose["volumes"])


def test_the_image_runs_as_a_user_and_collects_static():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "collectstatic --noinput" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
