"""The web app in a real browser (Debian's chromium driven by Playwright): load it, change a
lever, run a trial, read the targets and a chart, download the workbook, see a validation
error, and cancel a run. Screenshots go to UCSIM_SCREENSHOTS (docs/images when refreshed)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the slow tier: `make test` (CI) runs it, plain `pytest` does not

TRIAL_LIMIT_S = 90  # the issue asks for 30 s on 2 cores; the test allows for a loaded CI box


def _browser():
    from tests.conftest import browser_or_skip

    return browser_or_skip("test the app")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = tmp_path_factory.mktemp("store")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "app",
            "--port",
            str(port),
            "--store",
            str(store),
            "--jobs",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    limit = time.monotonic() + 60
    while time.monotonic() < limit:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    yield f"http://127.0.0.1:{port}/"
    process.terminate()
    process.wait(10)


def _shots() -> Path | None:
    folder = os.environ.get("UCSIM_SCREENSHOTS")
    return Path(folder) if folder else None


def test_a_planner_changes_a_lever_runs_a_trial_and_downloads(server: str, tmp_path: Path) -> None:
    playwright, executable = _browser()
    shots = _shots()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        page.goto(server)
        staff = "#lv_interventions__rapid_response__extra_staff"
        page.wait_for_selector(staff, timeout=30_000)
        page.fill(staff, "3")
        if shots:
            page.screenshot(path=str(shots / "app-levers.png"), full_page=True)

        started = time.monotonic()
        page.click("#trial")
        page.wait_for_selector("#run-status:has-text('done')", timeout=TRIAL_LIMIT_S * 1000)
        elapsed = time.monotonic() - started
        print(f"trial run: click to first result {elapsed:.1f} s")
        assert "roughly" in page.inner_text("#estimate")  # the trial's runtime estimate

        page.click("a[data-value='Targets']")
        page.wait_for_selector("#targets table tbody tr", timeout=10_000)
        text = page.inner_text("#targets")
        assert "base-case-edited" in text and "p_met" in text
        if shots:
            page.screenshot(path=str(shots / "app-targets.png"), full_page=True)

        page.click("a[data-value='Trajectories']")
        page.wait_for_selector("#trajectory img", timeout=20_000)
        if shots:
            page.screenshot(path=str(shots / "app-trajectories.png"), full_page=True)

        page.click("a[data-value='Money']")
        page.wait_for_selector("#money table tbody tr", timeout=10_000)
        assert "dudley_group" in page.inner_text("#money")

        page.click("a[data-value='Downloads']")
        with page.expect_download() as download:
            page.click("#get_workbook")
        saved = tmp_path / "income_at_risk.xlsx"
        download.value.save_as(saved)
        assert saved.read_bytes()[:2] == b"PK"  # an xlsx is a zip

        # the same trial again is served from the store, not rerun
        page.click("#trial")
        page.wait_for_selector("#run-status:has-text('served from the store')", timeout=20_000)
        browser.close()


def test_an_invalid_value_is_named_in_the_page_and_a_run_can_be_cancelled(
    server: str, tmp_path: Path
) -> None:
    playwright, executable = _browser()
    shots = _shots()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(server)
        multiplier = "#lv_interventions__enhanced_discharge__los_multiplier"
        page.wait_for_selector(multiplier, timeout=30_000)
        page.fill(multiplier, "7")
        page.click("#trial")
        page.wait_for_selector("#problem", timeout=20_000)
        problem = page.inner_text("#problem")
        assert "interventions.enhanced_discharge.los_multiplier" in problem
        if shots:
            page.screenshot(path=str(shots / "app-invalid.png"), full_page=True)

        bad = tmp_path / "mine.toml"
        bad.write_text('[scenario]\nname = "mine"\n\n[services.wards]\nbeds = -5\n')
        page.set_input_files("#upload", str(bad))
        page.wait_for_selector("#problem:has-text('services.wards.beds')", timeout=20_000)
        assert str(tmp_path) not in page.inner_text("#problem")  # no server paths shown
        good = tmp_path / "plan.toml"
        good.write_text('extends = "base-case.toml"\n\n[scenario]\nname = "my-plan"\n')
        page.set_input_files("#upload", str(good))
        page.wait_for_selector("#edit option[value='my-plan']", state="attached", timeout=20_000)

        page.fill(multiplier, "0.95")
        page.fill("#replications", "40")
        page.click("#full")
        page.wait_for_selector("#run-status:has-text('running')", timeout=20_000)
        page.click("#cancel")
        page.wait_for_selector("#run-status:has-text('cancelled')", timeout=20_000)

        page.click("a[data-value='What would it take?']")
        page.click("#goal_start")
        page.wait_for_selector("#goal-status:has-text('searching')", timeout=20_000)
        page.click("#goal_cancel")
        page.wait_for_selector("#goal-status:has-text('cancelled')", timeout=20_000)
        browser.close()
