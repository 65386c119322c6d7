"""The console in a real browser: headless Chromium driven by Selenium through Debian's
chromedriver (named by path: Selenium's own driver download cannot work offline).

Usage: console_browser.py BASE_URL USER PASSWORD ALERT_ID SCREENSHOT_DIR PROFILE_DIR AXE_JS
Logs in, finds the alert whose fields carry script and markup, checks nothing of it ran,
opens its incident page, resolves it with a comment, follows its principal to the search,
runs a SQL query, opens the daily review and the overview, logs out; a screenshot of each page goes to SCREENSHOT_DIR. On every
page axe-core (AXE_JS, the npm package's axe.min.js) checks accessibility: a serious or
critical violation fails the run; every violation found is written to
SCREENSHOT_DIR/axe.json. Exit 0 when every step held; otherwise the failed step on stderr and
exit 1.
"""

import datetime
import json
import os
import sys

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait


def main():
    global axe_js
    base, user, password, alert_id, shots, profile, axe_path = sys.argv[1:8]
    with open(axe_path, encoding="utf-8") as f:
        axe_js = f.read()
    os.makedirs(shots, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/lib/chromium/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000",
                f"--user-data-dir={profile}", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"),
                              options=options)
    driver.set_page_load_timeout(30)
    try:
        run(driver, base, user, password, alert_id, shots)
    finally:
        driver.quit()
        with open(os.path.join(shots, "axe.json"), "w", encoding="utf-8") as f:
            json.dump(axe_found, f, indent=1)
    print("ok")


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def no_dialog(driver, where):
    try:
        text = driver.switch_to.alert.text
    except NoAlertPresentException:
        return
    raise AssertionError(f"{where}: a script ran and opened a dialog: {text!r}")


def inert(driver, where):
    no_dialog(driver, where)
    scripts = driver.execute_script("return document.scripts.length")
    check(scripts == 0, f"{where}: {scripts} script elements")
    imgs = driver.find_elements(By.TAG_NAME, "img")
    check(not imgs, f"{where}: img elements from log values")
    for a in driver.find_elements(By.TAG_NAME, "a"):
        href = (a.get_attribute("href") or "").lower()
        check(href.startswith(base_url), f"{where}: link off the console: {href}")


base_url = ""
axe_js = ""
# Every violation axe reported, per page: the test's artefact beside the screenshots.
axe_found = {}


def accessible(driver, where):
    """Runs axe-core on the page (injected through WebDriver, which the page's CSP does not
    govern) and fails on any serious or critical violation."""
    driver.execute_script(axe_js)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document)"
        ".then(r => done({passes: r.passes.length, violations: r.violations.map(v => ({"
        "id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))}))"
        ".catch(e => done({error: String(e)}));")
    check("passes" in result, f"{where}: axe did not run: {result}")
    # axe found the page's content and checked it: some rules passed.
    check(result["passes"] >= 5, f"{where}: axe checked only {result['passes']} rules")
    axe_found[where] = result
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    check(not bad, f"{where}: accessibility violations: {json.dumps(bad)}")


def load(driver, element, key=None):
    """Clicks `element` (or sends it `key`) and waits for the page it loads: reading before
    the old page is gone would read the old page."""
    old = driver.find_element(By.TAG_NAME, "html")
    if key is None:
        element.click()
    else:
        element.send_keys(key)
    WebDriverWait(driver, 10).until(expected_conditions.staleness_of(old))


def keyboard(driver):
    """The keyboard reaches the navigation in order, and Enter follows a link."""
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    first = driver.switch_to.active_element
    check(first.text == "Overview", f"first Tab stop: {first.tag_name} {first.text!r}")
    first.send_keys(Keys.TAB)
    second = driver.switch_to.active_element
    check(second.text == "Alerts", f"second Tab stop: {second.tag_name} {second.text!r}")
    load(driver, second, Keys.ENTER)
    check(driver.title.startswith("Alerts"), f"Enter on the link: {driver.title!r}")


def run(driver, base, user, password, alert_id, shots):
    global base_url
    base_url = base.lower()
    driver.get(base + "/alerts")
    check(driver.current_url.endswith("/login"), f"anonymous /alerts went to {driver.current_url}")
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.save_screenshot(os.path.join(shots, "login.png"))
    accessible(driver, "login")
    load(driver, driver.find_element(By.CSS_SELECTOR, "form.login button"))
    check(driver.title.startswith("Alerts"), f"after login: {driver.title!r}")
    inert(driver, "alerts")
    body = driver.find_element(By.TAG_NAME, "body").text
    check("<script>" in body, "the hostile principal is shown as text")
    driver.save_screenshot(os.path.join(shots, "alerts.png"))
    accessible(driver, "alerts")

    load(driver, driver.find_element(By.CSS_SELECTOR, f'a[href="/alerts/{alert_id}"]'))
    inert(driver, "incident")
    evidence = driver.find_elements(By.XPATH, "//h2[.='Evidence']/following-sibling::table[1]//tbody/tr")
    check(len(evidence) >= 1, "the incident lists its evidence events")
    for section in ["scope", "activity", "resources", "plan"]:
        check(len(driver.find_elements(By.ID, section)) == 1, f"the incident has its {section} section")
    script = driver.find_element(By.ID, "recovery-script").text
    check(script.startswith("#!/usr/bin/env bash"), f"the plan's script is shown: {script[:80]!r}")
    check("aws cloudtrail start-logging" in script, "the plan restarts the stopped trail")
    driver.save_screenshot(os.path.join(shots, "incident.png"))
    accessible(driver, "incident")

    resolve = driver.find_element(By.CSS_SELECTOR, f'form[action="/alerts/{alert_id}/resolve"]')
    resolve.find_element(By.NAME, "comment").send_keys("contained: key disabled")
    load(driver, resolve.find_element(By.TAG_NAME, "button"))
    fields = driver.find_element(By.CSS_SELECTOR, "dl.fields").text
    check("resolved" in fields, f"the alert is resolved: {fields}")
    check("contained: key disabled" in driver.find_element(By.TAG_NAME, "body").text, "the comment shows")
    inert(driver, "incident after resolving")

    load(driver, driver.find_element(By.XPATH, "//dt[.='Principal']/following-sibling::dd[1]/a"))
    check("/search?principal=" in driver.current_url, driver.current_url)
    inert(driver, "search")
    rows = driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")
    check(len(rows) >= 1, "the principal's search finds its events")
    driver.save_screenshot(os.path.join(shots, "search.png"))
    accessible(driver, "search")

    driver.get(base + "/rules")
    check(driver.title.startswith("Rules"), f"rules: {driver.title!r}")
    rows = driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")
    check(len(rows) > 20, f"the rules page lists the built-in pack ({len(rows)} rows)")
    inert(driver, "rules")
    driver.save_screenshot(os.path.join(shots, "rules.png"))
    accessible(driver, "rules")

    driver.get(base + "/sql")
    box = driver.find_element(By.NAME, "query")
    box.clear()
    box.send_keys("SELECT action, count(*) AS n FROM events GROUP BY action ORDER BY action")
    load(driver, driver.find_element(By.XPATH, "//button[.='Run']"))
    headers = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "main table th")]
    check(headers == ["action", "n"], f"SQL result columns: {headers}")
    inert(driver, "sql")
    driver.save_screenshot(os.path.join(shots, "sql.png"))
    accessible(driver, "sql")

    driver.get(base + "/review?day=2026-10-01")
    check(driver.title.startswith("Daily review of 2026-10-01"), f"review: {driver.title!r}")
    text = driver.find_element(By.TAG_NAME, "main").text
    check("Changes to logging and security services (1)" in text, "StopLogging is a logging change")
    check("New principals (1)" in text, "the trail's user is new that day")
    inert(driver, "review of the trail's day")
    # Today: the alert was stored today, and the analyst resolved it today.
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    driver.find_element(By.NAME, "day").clear()
    driver.find_element(By.NAME, "day").send_keys(today)
    load(driver, driver.find_element(By.XPATH, "//button[.='Show']"))
    text = driver.find_element(By.TAG_NAME, "main").text
    check("New alerts (1)" in text, "the review lists the alert stored today")
    check("rui" in text and "resolve" in text, "the review says what the analysts did")
    inert(driver, "review")
    driver.save_screenshot(os.path.join(shots, "review.png"))
    accessible(driver, "review")

    driver.get(base + "/")
    check(driver.title.startswith("Overview"), f"overview: {driver.title!r}")
    check(len(driver.find_elements(By.CSS_SELECTOR, "svg[role=img]")) == 1, "the overview chart")
    inert(driver, "overview")
    driver.save_screenshot(os.path.join(shots, "overview.png"))
    accessible(driver, "overview")
    keyboard(driver)

    driver.get(base + "/alerts?state=resolved")
    check(alert_id in driver.page_source, "the resolved filter lists the alert")
    load(driver, driver.find_element(By.CSS_SELECTOR, "header form button"))
    check(driver.current_url.endswith("/login"), "logged out")
    driver.get(base + "/alerts")
    check(driver.current_url.endswith("/login"), "after logout the queue needs a login again")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"failed: {e}", file=sys.stderr)
        sys.exit(1)
