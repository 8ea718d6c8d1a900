"""DATABASE_URL as deployments write it: options in the query string reach the
driver, SQLite keeps the options its shared file needs, and no URL means
SQLite under the var directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from studio.settings import database_from_url

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_postgres_url_keeps_its_options(monkeypatch):
    monkeypatch.delenv("DATABASE_CONN_MAX_AGE", raising=False)

    config = database_from_url("postgres://u:p@h:5432/db?sslmode=require")

    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("db", "u", "p")
    assert (config["HOST"], str(config["PORT"])) == ("h", "5432")
    assert config["OPTIONS"] == {"sslmode": "require"}
    assert config["CONN_MAX_AGE"] == 60
    assert config["CONN_HEALTH_CHECKS"] is True


def test_postgres_url_with_several_options_and_an_encoded_password(monkeypatch):
    monkeypatch.setenv("DATABASE_CONN_MAX_AGE", "0")

    config = database_from_url(
        "postgresql://studio:p%40ss%2Fword@db.example:6543/studio"
        "?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem&connect_timeout=5"
    )

    assert config["PASSWORD"] == "p@ss/word"
    assert config["OPTIONS"] == {
        "sslmode": "verify-full",
        "sslrootcert": "/etc/ssl/ca.pem",
        "connect_timeout": 5,
    }
    assert config["CONN_MAX_AGE"] == 0


def test_sqlite_url_keeps_the_shared_file_options():
    config = database_from_url("sqlite:////srv/studio/studio.sqlite3")

    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert str(config["NAME"]) == "/srv/studio/studio.sqlite3"
    assert config["OPTIONS"]["timeout"] == 20
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]


def test_sqlite_url_options_override_the_defaults():
    config = database_from_url("sqlite:///relative.sqlite3?timeout=5")

    assert str(config["NAME"]) == "relative.sqlite3"
    assert config["OPTIONS"]["timeout"] == 5
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_unknown_scheme_is_refused():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url("nosuchdb://h/db")


def test_no_url_means_sqlite_under_the_var_directory(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["STUDIO_VAR_DIR"] = str(tmp_path / "var")
    script = (
        "import json, studio.settings as s; d = s.DATABASES['default']; "
        "print(json.dumps({'ENGINE': d['ENGINE'], 'NAME': str(d['NAME']), "
        "'OPTIONS': d['OPTIONS'], 'CONN_MAX_AGE': d.get('CONN_MAX_AGE', 0)}))"
    )

    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env,
        capture_output=True, text=True, check=True,
    ).stdout
    config = json.loads(out)

    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(tmp_path / "var" / "studio.sqlite3")
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert config["CONN_MAX_AGE"] == 0
