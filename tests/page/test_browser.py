"""The status page in a real headless Chromium against `python -m scaling serve` on its local defaults
(Azurite, the AKS emulator and the sample schedules): it loads, draws the known week, and an override
made with its buttons reaches the API and the audit."""

from pathlib import Path

import httpx
import pytest

from bench.screenshot import CHROMIUM, launch, open_page, served

pytestmark = [pytest.mark.browser, pytest.mark.integration]

if not Path(CHROMIUM).exists():
    pytest.skip(
        f"{CHROMIUM} is not installed (apt-get install -y chromium); the browser tests need it", allow_module_level=True
    )

KNOWN_WEEK = "2026-11-23"  # Monday; the 23rd is Labour Thanksgiving Day in Japan
BARS = {"project-a": 5, "project-b": 4, "nightly-batch": 5, "platform-tools": 1}


@pytest.fixture(scope="module")
def app():
    with served() as (url, key):
        yield url, key


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def api(app, method, path, **kwargs):
    url, key = app
    return httpx.request(method, url + path, headers={"X-API-Key": key}, timeout=30, **kwargs)


def test_the_page_loads_with_the_sample_projects(app, browser):
    page = open_page(browser, *app)
    names = page.locator("table.projects tbody tr").evaluate_all("rows => rows.map(r => r.dataset.project)")
    assert sorted(names) == ["nightly-batch", "platform-tools", "project-a", "project-b"]
    assert page.locator("tr[data-project='project-b'] .pool[data-pool='gpu']").count() == 1
    page.close()


def test_without_a_key_the_page_asks_for_one_and_then_loads(app, browser):
    url, key = app
    page = browser.new_page()
    page.goto(url + "/")
    page.fill("#key-input", key)
    page.click("#key-form button")
    page.wait_for_selector("body[data-loaded='1'] #page")
    assert page.locator("table.projects tbody tr").count() == 4
    page.close()


def test_the_timeline_draws_each_projects_business_days_of_a_known_week(app, browser):
    page = open_page(browser, *app, query=f"?week={KNOWN_WEEK}")
    assert page.locator("svg.timeline").get_attribute("data-start-date") == KNOWN_WEEK
    for project, count in BARS.items():
        assert page.locator(f"svg.timeline g.row[data-project='{project}'] rect.bar").count() == count, project
    assert page.locator("svg.timeline g.row[data-project='project-b'] rect.closed").count() == 1
    page.close()


def test_an_override_made_on_the_page_shows_up_in_the_api_and_the_audit(app, browser):
    page = open_page(browser, *app)
    controls = page.locator(".controls[data-project='project-a']")
    controls.locator(".reason").fill("browser test: maintenance")
    controls.locator("button[data-action='down-now']").click()
    page.wait_for_selector("#flash.ok")
    page.wait_for_selector("tr[data-project='project-a'][data-state='override']")

    project = api(app, "GET", "/api/v1/projects/project-a").json()["project"]
    assert (project["override"]["action"], project["override"]["reason"]) == ("down", "browser test: maintenance")
    rows = api(app, "GET", "/api/v1/audit", params={"project": "project-a", "limit": 20}).json()["rows"]
    assert any(
        (r["action"], r["reason"], r["actor"]) == ("override-set", "browser test: maintenance", "api-key") for r in rows
    )

    page.locator(".controls[data-project='project-a'] button[data-action='clear']").click()
    page.wait_for_selector("tr[data-project='project-a']:not([data-state='override'])")
    assert api(app, "GET", "/api/v1/projects/project-a").json()["project"]["override"] is None
    page.close()


def test_a_button_without_a_reason_calls_nothing(app, browser):
    page = open_page(browser, *app)
    page.locator(".controls[data-project='project-b'] button[data-action='keep-up']").click()
    assert page.locator(".controls[data-project='project-b'] output").inner_text() == "a reason is required"
    assert api(app, "GET", "/api/v1/projects/project-b").json()["project"]["override"] is None
    page.close()


def test_the_audit_filter_shows_one_projects_rows(app, browser):
    page = open_page(browser, *app)
    page.select_option("#audit-project", "project-b")
    visible = page.locator("table.audit tbody tr:not([hidden])")
    shown = visible.evaluate_all("rows => rows.map(r => r.dataset.project)")
    assert set(shown) <= {"project-b"}
    page.close()
