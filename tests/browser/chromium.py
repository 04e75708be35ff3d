"""chromium.py: what the browser tests share (explorer.py, vision.py, long_inputs.py).

Debian's chromium, headless, driven by chromedriver through python3-selenium, opening pages
from file:// with the network emulated offline and name resolution and proxying pointed
nowhere; one printed line per check; the requests that left a page. The shell scripts that
run the tests (tests/cli/browser.sh, html_long.sh) skip them, by name, when chromium,
chromedriver or selenium is absent.
"""
import json
import os
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

failures = 0


def check(name, cond, detail=""):
    """Prints "ok: NAME", or "FAIL: NAME DETAIL" and counts the failure."""
    global failures
    if cond:
        print("ok:", name)
    else:
        failures += 1
        print("FAIL:", name, detail)


def start(width):
    """A headless chromium width x 1000 pixels with a fresh profile, no name resolving,
    a proxy on a closed port, the network emulated offline, and its browser (script errors)
    and performance (requests) logs kept."""
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="mhaviz-chromium.")
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=%d,1000" % width, "--user-data-dir=" + profile, "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-default-apps", "--disable-extensions",
              "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
              "--proxy-bypass-list=<-loopback>"]:
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    except Exception:
        driver.quit()
        raise
    return driver


def open_page(driver, page, root):
    """Opens page from file:// and waits (20 s at most) for its root element, found by the
    CSS selector root, to say data-ready="1"; returns that element."""
    driver.get("file://" + os.path.abspath(page))
    el = driver.find_element(By.CSS_SELECTOR, root)
    WebDriverWait(driver, 20).until(lambda d: el.get_attribute("data-ready") == "1")
    return el


def script_errors(driver):
    """The SEVERE entries of the browser's log since it was last read."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def requests_outside(driver, page):
    """The URLs of page's requests that were not file:, data: or blob:, and every http, ws
    or ftp request at all. (The browser's own start page loads chrome:// resources before the
    navigation: those are not the page's.)"""
    url = "file://" + os.path.abspath(page)
    outside = []
    for e in driver.get_log("performance"):
        m = json.loads(e["message"])["message"]
        if m.get("method") == "Network.requestWillBeSent":
            u, doc = m["params"]["request"]["url"], m["params"].get("documentURL", "")
            if u.startswith(("http", "ws", "ftp")) or \
                    (doc == url and not u.startswith(("file:", "data:", "blob:"))):
                outside.append(u)
    return outside


def finish(page):
    """Prints the verdict on page and exits 1 when a check failed."""
    print("%s: %d check(s) failed" % (page, failures) if failures
          else "%s: all checks passed" % page)
    sys.exit(1 if failures else 0)
