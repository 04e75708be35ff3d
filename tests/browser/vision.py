#!/usr/bin/python3
"""vision.py PAGE.html RUN.json SHOTS_DIR: a vision run's HTML page in a real browser.

Debian's chromium, headless, through chromedriver and python3-selenium, opens the page from
file:// offline (as explorer.py does) and checks: no script error; the view paints; it starts
on the first image, the first layer's first head and [CLS]; clicking a patch of the picture
makes that patch the query (the frame moves, the state says so); hovering a patch shows the
weight of the JSON output of the same run for that query and key; a register button and a
thumbnail switch the query and the head; the image selector switches images; no request
left the page; for a model with an attention-pooling head (SigLIP), its layer "pool" shows
the probe's weights of the JSON's "pool". Prints one line per check; exits 1 when one fails.
"""
import json
import os
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

page, ref_path, shots = sys.argv[1:4]
ref = json.load(open(ref_path, encoding="utf-8"))
failures = 0


def check(name, cond, detail=""):
    global failures
    if cond:
        print("ok:", name)
    else:
        failures += 1
        print("FAIL:", name, detail)


opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
profile = tempfile.mkdtemp(prefix="mhaviz-chromium.")
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--window-size=1200,1000", "--user-data-dir=" + profile, "--no-first-run",
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
    driver.get("file://" + os.path.abspath(page))
    root = driver.find_element(By.CSS_SELECTOR, ".mhv-vision")
    WebDriverWait(driver, 20).until(lambda d: root.get_attribute("data-ready") == "1")
    errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    check("no script errors", not errors, errors)
    img0 = ref["images"][0]
    first = img0["attentions"][0]
    check("starts on image 0, the first map, [CLS]",
          root.get_attribute("data-state") == "0 %d %d 0" % (first["layer"], first["head"]),
          root.get_attribute("data-state"))
    driver.save_screenshot(os.path.join(shots, "vision.png"))
    view = driver.find_element(By.ID, "view")
    g = img0["grid"]
    rows, cols, extra, patch = g["rows"], g["cols"], g["extra_tokens"], g["patch_size"]
    W, H = img0["crop"][2], img0["crop"][3]  # the picture's pixels (a last partial patch's too)

    def at_patch(r, c, click):
        w, h = view.size["width"], view.size["height"]
        x, y = (c + 0.5) * patch * w / W - w / 2, (r + 0.5) * patch * h / H - h / 2
        act = ActionChains(driver).move_to_element_with_offset(view, int(x), int(y))
        (act.click() if click else act).perform()

    at_patch(2, 3, True)
    q = extra + 2 * cols + 3
    check("a click makes the patch the query",
          root.get_attribute("data-state") == "0 %d %d %d" % (first["layer"], first["head"], q),
          root.get_attribute("data-state"))
    check("the status names it", "query r2c3" in driver.find_element(By.ID, "status").text,
          driver.find_element(By.ID, "status").text)
    bad = []
    for r, c in [(0, 0), (1, 2), (rows - 1, cols - 1), (2, 3)]:
        at_patch(r, c, False)
        text = driver.find_element(By.ID, "hover").text
        want = first["weights"][q][extra + r * cols + c]
        shown = float(text.rsplit(" ", 1)[-1]) if ": " in text else None
        if not text.startswith("r%dc%d:" % (r, c)) or shown is None or \
                abs(shown - want) > want ** 0.5 / 255 + 0.0006:
            bad.append((r, c, text, want))
    check("hover shows the JSON weight of the query's row", not bad, bad)
    driver.save_screenshot(os.path.join(shots, "vision-click.png"))
    if extra > 1:
        driver.find_elements(By.CSS_SELECTOR, "#extras button")[1].click()
        check("a token button makes it the query",
              root.get_attribute("data-state").endswith(" 1"), root.get_attribute("data-state"))
    thumbs = driver.find_elements(By.CSS_SELECTOR, "#thumbs div")
    heads = [a["head"] for a in img0["attentions"] if a["layer"] == first["layer"]]
    check("a thumbnail per head of the layer", len(thumbs) == len(heads), len(thumbs))
    if len(thumbs) > 1:
        thumbs[1].click()
        check("a thumbnail click switches the head",
              root.get_attribute("data-state").split()[2] == str(heads[1]),
              root.get_attribute("data-state"))
    if "pool" in img0:  # SigLIP: the pooling head's probe under a layer named "pool"
        layer = Select(driver.find_element(By.ID, "layer"))
        names = [o.text for o in layer.options]
        check("the layer selector offers the pooling head", names[-1] == "pool", names)
        layer.select_by_visible_text("pool")
        check("the status names the probe", "the pooling probe" in
              driver.find_element(By.ID, "status").text, driver.find_element(By.ID, "status").text)
        head = int(root.get_attribute("data-state").split()[2])
        bad = []
        for r, c in [(0, 0), (1, 2), (rows - 1, cols - 1)]:
            at_patch(r, c, False)
            text = driver.find_element(By.ID, "hover").text
            want = img0["pool"][head]["weights"][extra + r * cols + c]
            shown = float(text.rsplit(" ", 1)[-1]) if ": " in text else None
            if shown is None or abs(shown - want) > want ** 0.5 / 255 + 0.0006:
                bad.append((r, c, text, want))
        check("hover on the pooling head shows the JSON pool weight", not bad, bad)
        driver.save_screenshot(os.path.join(shots, "vision-pool.png"))
    if len(ref["images"]) > 1:
        Select(driver.find_element(By.ID, "img")).select_by_index(1)
        check("the image selector switches images",
              root.get_attribute("data-state").startswith("1 "), root.get_attribute("data-state"))
    url = "file://" + os.path.abspath(page)
    outside = []
    for e in driver.get_log("performance"):
        m = json.loads(e["message"])["message"]
        if m.get("method") == "Network.requestWillBeSent":
            u, doc = m["params"]["request"]["url"], m["params"].get("documentURL", "")
            if u.startswith(("http", "ws", "ftp")) or \
                    (doc == url and not u.startswith(("file:", "data:", "blob:"))):
                outside.append(u)
    check("no request left the page", not outside, outside)
finally:
    driver.quit()
print("%s: %d check(s) failed" % (page, failures) if failures else "%s: all checks passed" % page)
sys.exit(1 if failures else 0)
