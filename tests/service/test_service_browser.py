"""A real browser (Debian's headless Chromium, driven by Selenium through
Debian's chromedriver): a learner opens their link, uploads, sees the
submission queued or grading and then done, opens the report; the instructor
sees that learner in the live overview.  Screenshots: reports/screenshots/."""

from __future__ import annotations

import shutil
import time

import pytest

from .conftest import ROOT, SOLUTIONS

pytestmark = pytest.mark.slow

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
DRIVER = shutil.which("chromedriver")
SHOTS = ROOT / "reports" / "screenshots"


@pytest.fixture
def browser(tmp_path):
    if not (CHROMIUM and DRIVER):
        pytest.skip(
            "headless Chromium and chromedriver are not installed "
            "(apt-get install chromium chromium-driver)"
        )
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _wait_for(driver, test, timeout: float = 240):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if test(driver):
                return
        except Exception:  # noqa: BLE001 - the page is reloading itself
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out on {driver.current_url}: {driver.page_source[:2000]}")


def test_learner_uploads_and_instructor_sees_them(server, browser):
    from selenium.webdriver.common.by import By

    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.get(f"{server.url}/login/{server.tokens['hal']}")
    assert browser.current_url == f"{server.url}/"
    browser.save_screenshot(str(SHOTS / "1-learner-upload.png"))
    chooser = browser.find_element(By.CSS_SELECTOR, "input[name=files]")
    chooser.send_keys(str(SOLUTIONS / "devices.py"))
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait_for(browser, lambda d: "/submissions/" in d.current_url, 60)
    first = browser.find_element(By.CSS_SELECTOR, "td[class^=state-]").get_attribute("class")
    assert first in ("state-queued", "state-grading", "state-done")
    browser.save_screenshot(str(SHOTS / "2-learner-submitted.png"))
    _wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "td.state-done"))
    browser.save_screenshot(str(SHOTS / "3-learner-done.png"))
    browser.find_element(By.LINK_TEXT, "report").click()
    _wait_for(browser, lambda d: "report.html" in d.current_url, 60)
    assert "hal" in browser.page_source
    browser.save_screenshot(str(SHOTS / "4-learner-report.png"))
    # the instructor, in the same browser after signing in with their link: a
    # signed-in browser asks before it switches to another person's link
    browser.get(f"{server.url}/login/{server.instructor}")
    assert "Another person's link" in browser.page_source
    browser.save_screenshot(str(SHOTS / "5a-switch-account.png"))
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait_for(browser, lambda d: d.current_url.endswith("/instructor"), 60)
    assert "hal" in browser.find_element(By.TAG_NAME, "body").text
    browser.save_screenshot(str(SHOTS / "5-instructor-class.png"))
    browser.get(f"{server.url}/instructor/class/")
    _wait_for(browser, lambda d: "hal" in d.find_element(By.TAG_NAME, "body").text, 60)
    browser.save_screenshot(str(SHOTS / "6-instructor-overview.png"))
    assert all(
        (SHOTS / name).stat().st_size > 1000
        for name in ("1-learner-upload.png", "4-learner-report.png", "6-instructor-overview.png")
    )
