"""Shared fixtures. Loopback traffic must never go through a proxy, so proxies are cleared.

A test module that talks to a sandbox defines its own module-scoped ``sandbox`` fixture (its
size and seed are the module's choice); ``config_path`` and ``sandbox_env`` below build on it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconcile.sandbox import Sandbox
from reconcile.sandbox.spreadsheets import write_spreadsheets


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def config_path(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config for the module's ``sandbox``, with the spreadsheets it names written beside it."""
    folder = tmp_path_factory.mktemp("sandbox-config")
    spreadsheets = write_spreadsheets(sandbox.organisation, folder)
    return Path(sandbox.write_config(folder, spreadsheets))


@pytest.fixture
def sandbox_env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The sandbox's secrets in the environment, and no fault left over from another test.

    Use with ``pytestmark = pytest.mark.usefixtures("sandbox_env")``.
    """
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    sandbox.faults.clear()
    yield
    sandbox.faults.clear()


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small demo (both months) per test process; each test copies its folder."""
    from reconcile.demo import run_demo

    folder = tmp_path_factory.mktemp("send-demo")
    run_demo(out=folder, people=40)
    return folder


@pytest.fixture
def workspace(demo_run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "demo"
    shutil.copytree(demo_run, target)
    return target


@pytest.fixture(scope="module")
def small_sandbox() -> Iterator[Sandbox]:
    """30 people served on 127.0.0.1, for a module that runs reconcile against live APIs."""
    from reconcile.sandbox.generate import generate

    with Sandbox(generate(people=30, seed=5)) as running:
        yield running
