#!/usr/bin/python3
"""bench_html.py PAGE.html: times an explorer page in headless Chromium (Debian's chromium,
chromium-driver, python3-selenium), file:// and offline: the first view drawn (head view),
a layer switch, the line view with every head of a layer, and the model view until every
thumbnail is drawn (each head decoded then). Prints milliseconds, best of 3 loads."""
import os
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

page = os.path.abspath(sys.argv[1])
opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--window-size=1400,1000", "--user-data-dir=" + tempfile.mkdtemp(prefix="mhaviz-bench."),
          "--host-resolver-rules=MAP * ~NOTFOUND", "--disable-background-networking"]:
    opts.add_argument(a)
d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
try:
    best = {}

    def keep(k, v):
        best[k] = min(best.get(k, 1e9), v)

    for _ in range(3):
        t0 = time.time()
        d.get("file://" + page)
        root = d.find_element(By.CSS_SELECTOR, ".mhv-root")
        WebDriverWait(d, 60).until(lambda x: root.get_attribute("data-ready") == "1")
        keep("load to first view, wall (driver included)", (time.time() - t0) * 1000)
        keep("first view drawn after navigation (page clock)", float(root.get_attribute("data-ready-ms")))
        layers = [o.get_attribute("value") for o in
                  Select(d.find_element(By.CSS_SELECTOR, "select.mhv-layer")).options]
        t0 = time.time()
        Select(d.find_element(By.CSS_SELECTOR, "select.mhv-layer")).select_by_value(layers[-1])
        d.execute_script("return 1")
        keep("layer switch (decode + draw one head)", (time.time() - t0) * 1000)
        t0 = time.time()
        d.find_element(By.CSS_SELECTOR, "button[data-view=lines]").click()
        for k in range(len(d.find_elements(By.CSS_SELECTOR, ".mhv-heads input[type=checkbox]"))):
            box = d.find_elements(By.CSS_SELECTOR, ".mhv-heads input[type=checkbox]")[k]
            if not box.is_selected():
                box.click()
        d.execute_script("return 1")
        keep("line view, every head of the layer overlaid", (time.time() - t0) * 1000)
        t0 = time.time()
        d.find_element(By.CSS_SELECTOR, "button[data-view=model]").click()
        WebDriverWait(d, 120).until(lambda x: root.get_attribute("data-thumbs") == "done")
        keep("model view, every thumbnail drawn", (time.time() - t0) * 1000)
    for k, v in best.items():
        print("   %-48s %7.0f ms" % (k, v))
finally:
    d.quit()
