"""The config file: good files load into frozen dataclasses, bad ones give one clear line."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from reconcile import config
from reconcile.errors import ConfigError

GOOD = """
[organisation]
name = "Acme Health"
timezone = "Europe/London"
date_format = "dd/mm/yyyy"

[period]
start = 2026-01-01
end = 2026-12-31

[roster]
path = "roster.xlsx"
sheet = "Staff"
[roster.columns]
employee_id = "Emp No"

[policy]
path = "policy.xlsx"
multiple_audiences = "sum"
duplicate_window_days = 2

[sources.thrive]
base_url = "https://public.api.learn.link/rest/v1/"
tenant_id = "eu-west-2_AbcdEfghI"
auth = "basic"
secret_env = "THRIVE_API_SECRET"

[sources.brightspace]
base_url = "https://acme.brightspace.com"
le_version = "1.84"
lp_version = "1.46"
token_env = "BRIGHTSPACE_TOKEN"

[sources.coursepath]
base_url = "https://acme.coursepath.com/api/v1"
email = "reports@acme.example"
api_key_env = "COURSEPATH_API_KEY"

[[cpd_logs]]
path = "external_cpd.xlsx"

[output]
dir = "reports"
statements = "manager"

[email]
smtp_host = "localhost"
smtp_port = 587
starttls = true
username_env = "SMTP_USER"
password_env = "SMTP_PASSWORD"
sender = "compliance@acme.example"
"""


def write(folder: Path, text: str) -> Path:
    for name in ("roster.xlsx", "policy.xlsx", "external_cpd.xlsx"):
        (folder / name).write_bytes(b"placeholder")
    path = folder / "reconcile.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_config_loads_with_paths_resolved_against_its_folder(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, GOOD))
    assert cfg.organisation.timezone == "Europe/London"
    assert cfg.period.start == dt.date(2026, 1, 1)
    assert cfg.period.end == dt.date(2026, 12, 31)
    assert cfg.period.days == 365
    assert cfg.roster.path == tmp_path / "roster.xlsx"
    assert cfg.roster.columns == {"employee_id": "Emp No"}
    assert cfg.policy.multiple_audiences == "sum"
    assert cfg.policy.duplicate_window_days == 2
    assert cfg.policy.completion_match_days == 14
    assert cfg.sources["thrive"].base_url == "https://public.api.learn.link/rest/v1"
    assert set(cfg.sources) == {"thrive", "brightspace", "coursepath"}
    assert cfg.cpd_logs[0].path == tmp_path / "external_cpd.xlsx"
    assert cfg.output.dir == tmp_path / "reports"
    assert cfg.email is not None and cfg.email.sender == "compliance@acme.example"
    assert cfg.http.concurrency == 8
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.policy.prorate = False  # type: ignore[misc]


def test_workbook_detail_rows_defaults_to_200000_and_can_be_set(tmp_path: Path) -> None:
    assert config.load(write(tmp_path, GOOD)).output.workbook_detail_rows == 200_000
    text = GOOD.replace(
        'statements = "manager"', 'statements = "manager"\nworkbook_detail_rows = 0'
    )
    assert config.load(write(tmp_path, text)).output.workbook_detail_rows == 0


def test_statement_renderer_is_unset_by_default_and_can_be_either(tmp_path: Path) -> None:
    assert config.load(write(tmp_path, GOOD)).output.statement_renderer is None
    for renderer in ("typst", "weasyprint"):
        text = GOOD.replace(
            'statements = "manager"', f'statements = "manager"\nstatement_renderer = "{renderer}"'
        )
        assert config.load(write(tmp_path, text)).output.statement_renderer == renderer


def test_a_subset_of_sources_is_fine(tmp_path: Path) -> None:
    text = GOOD.split("[sources.thrive]", maxsplit=1)[0] + "[output]\n"
    cfg = config.load(write(tmp_path, text))
    assert dict(cfg.sources) == {}
    assert cfg.email is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("duplicate_window_days = 2", "duplicate_windw_days = 2"),
            'did you mean "duplicate_window_days"',
        ),
        (('timezone = "Europe/London"', 'timezone = "Europe/Londn"'), "organisation.timezone"),
        (('path = "roster.xlsx"', 'path = "missing.xlsx"'), 'roster.path names "missing.xlsx"'),
        (("[sources.coursepath]", "[sources.coursepth]"), 'did you mean "coursepath"'),
        (('multiple_audiences = "sum"', 'multiple_audiences = "avg"'), 'use one of "max", "sum"'),
        (("start = 2026-01-01", "start = 2027-01-01"), "is before period.start"),
        (("smtp_port = 587", 'smtp_port = "587"'), "email.smtp_port must be a whole number"),
        (
            ('secret_env = "THRIVE_API_SECRET"', 'secret_env = "s3cr3t value!"'),
            "not an environment",
        ),
        (('name = "Acme Health"', 'nme = "Acme Health"'), "organisation.name is missing"),
        (("[period]", "[period]\nstart_date = 2026-01-01"), 'did you mean "start"'),
        (('sheet = "Staff"', "sheet = ["), "not valid TOML"),
        (
            ('statements = "manager"', 'statements = "manager"\nworkbook_detail_rows = 2000000'),
            "output.workbook_detail_rows is 2,000,000, more rows than an Excel sheet holds",
        ),
        (
            ('statements = "manager"', 'statements = "manager"\nworkbook_detail_rows = -1'),
            "output.workbook_detail_rows",
        ),
        (
            ('statements = "manager"', 'statements = "manager"\nstatement_renderer = "latex"'),
            'output.statement_renderer is "latex"; use one of "typst", "weasyprint"',
        ),
    ],
)
def test_each_mistake_names_the_key_and_the_fix(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(ConfigError) as caught:
        config.load(write(tmp_path, GOOD.replace(old, new, 1)))
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


def test_secret_values_never_appear_in_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        config.load(write(tmp_path, GOOD.replace('"THRIVE_API_SECRET"', '"hunter2hunter2 secret"')))
    assert "hunter2" not in str(caught.value)


def test_unset_secret_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config.load(write(tmp_path, GOOD))
    monkeypatch.delenv("THRIVE_API_SECRET", raising=False)
    monkeypatch.setenv("BRIGHTSPACE_TOKEN", "t")
    monkeypatch.setenv("COURSEPATH_API_KEY", "k")
    with pytest.raises(ConfigError, match=r"THRIVE_API_SECRET is not set .*\[sources.thrive\]"):
        config.require_secrets(cfg)
    monkeypatch.setenv("THRIVE_API_SECRET", "x")
    config.require_secrets(cfg)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        config.load(tmp_path / "nope.toml")
