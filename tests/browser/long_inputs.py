#!/usr/bin/python3
"""long_inputs.py KIND PAGE.html RUN.json: the HTML explorer's pages of issue 19 and 13 in
a real browser (Debian's chromium, headless, network off: chromium.py), hover read against
the JSON of the same run. KIND:

  long   a decoder sentence longer than the page holds whole: the head view opens on the
         overview (blocks of `block` tokens: hover shows the block's maximum of the JSON's
         weights), the zoom button switches to the window at full resolution (hover shows
         the JSON weight of the sentence positions it names; a later key is masked)
  rows   run --rows: the maps are the kept rows x every key, hover names the row's sentence
         position and reads its JSON row; the aggregate view (--aggregate mean) likewise
  pair   run --pairs on an encoder: the boundary is a white line on the heatmap

Prints one line per check; exits 1 when one fails.
"""
import json
import sys

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from chromium import check, finish, open_page, script_errors, start

kind, page, ref_path = sys.argv[1:4]
ref = json.load(open(ref_path, encoding="utf-8"))


def weights_of(layer, head):
    for a in ref["sentences"][0]["attentions"]:
        if a["layer"] == layer and a.get("head", -1) == head:
            return a["weights"]
    raise KeyError((layer, head))


driver = start(1400)


def overlay():
    return driver.find_element(By.CSS_SELECTOR, ".mhv-overlay")


def hover(i, j):
    over = overlay()
    x0, y0, cell = (float(over.get_attribute(k)) for k in ("data-x0", "data-y0", "data-cell"))
    x = x0 + (j + 0.5) * cell - over.size["width"] / 2
    y = y0 + (i + 0.5) * cell - over.size["height"] / 2
    ActionChains(driver).move_to_element_with_offset(over, int(round(x)), int(round(y))).perform()
    tip = driver.find_element(By.CSS_SELECTOR, ".mhv-tip")
    return tip.text


def shown(text):
    return float(text.rsplit(" ", 1)[-1]) if "weight" in text else None


def close(v, x):
    return v is not None and abs(v - x) <= x ** 0.5 / 255 + 0.0006


try:
    root = open_page(driver, page, ".mhv-root")
    errors = script_errors(driver)
    check("no script errors", not errors, errors)
    data = json.loads(driver.find_element(By.CSS_SELECTOR, "script.mhv-sentence")
                      .get_attribute("textContent"))
    if kind == "long":
        n, P, Z = data["n"], data["pool"], data["zoom"]
        b, m = P["block"], P["m"]
        check("overview: %d blocks of %d tokens a side" % (m, b),
              overlay().get_attribute("data-n") == str(m) and m * b >= n > (m - 1) * b,
              overlay().get_attribute("data-n"))
        w = weights_of(1, 0)
        bad = []
        for i, j in [(m - 1, 0), (m - 1, m - 1), (m // 2, 3), (10, 10)]:
            want = max(w[q][k] for q in range(i * b, min(n, i * b + b))
                       for k in range(j * b, min(n, j * b + b)))
            t = hover(i, j)
            if not close(shown(t), want) or ("query %d:" % (i * b)) not in t:
                bad.append((i, j, t, want))
        check("overview: hover shows the block's maximum", not bad, bad)
        check("overview: a later block is masked", "masked" in hover(3, 9))
        driver.find_element(By.CSS_SELECTOR, "button.mhv-zoom").click()
        check("zoom button: the window", root.get_attribute("data-state").endswith(" zoom") and
              overlay().get_attribute("data-n") == str(Z["t1"] - Z["t0"]),
              root.get_attribute("data-state"))
        t0, bad = Z["t0"], []
        for i, j in [(0, 0), (Z["t1"] - t0 - 1, 0), (Z["t1"] - t0 - 1, Z["t1"] - t0 - 1), (40, 17)]:
            t = hover(i, j)
            if not close(shown(t), w[t0 + i][t0 + j]) or ("query %d:" % (t0 + i)) not in t or \
                    ("key %d:" % (t0 + j)) not in t:
                bad.append((i, j, t, w[t0 + i][t0 + j]))
        check("zoom: hover reads the JSON weight at full resolution", not bad, bad)
        check("zoom: a later key is masked", "masked" in hover(2, 5))
        driver.find_element(By.CSS_SELECTOR, "button.mhv-zoom").click()
        check("back to the overview", not root.get_attribute("data-state").endswith(" zoom"))
    elif kind == "rows":
        rows = ref["sentences"][0]["rows"]
        check("the page keeps the JSON's rows", overlay().get_attribute("data-rows") ==
              " ".join(map(str, rows)), overlay().get_attribute("data-rows"))
        long_page = "pool" in data
        agg = ref["sentences"][0]["attentions"][0].get("aggregate")
        Select(driver.find_element(By.CSS_SELECTOR, "select.mhv-layer")).select_by_value("1")
        if agg:
            Select(driver.find_element(By.CSS_SELECTOR, "select.mhv-head")).select_by_value("-1")
        w = weights_of(1, -1 if agg else 0)
        n = len(w[0])
        b = data["pool"]["block"] if long_page else 1
        bad = []
        for r in range(len(rows)):
            for j in [0, 1, (rows[r] // b) // 2]:
                want = max(w[r][j * b:min(n, j * b + b)])
                t = hover(r, j)
                if not close(shown(t), want) or ("query %d:" % rows[r]) not in t:
                    bad.append((r, j, t, want))
        check("hover reads the kept row (%s)" % ("pooled keys" if long_page else "every key"),
              not bad, bad)
        if not long_page and ref["model"].get("causal"):
            check("a key after the row is masked", "masked" in hover(0, rows[0] + 1))
    elif kind == "pair":
        bd = ref["sentences"][0]["pair_boundary"]
        over = overlay()
        x0, y0, cell = (float(over.get_attribute(k)) for k in ("data-x0", "data-y0", "data-cell"))
        px = driver.execute_script(
            "var c = document.querySelector('.mhv-heatmap'), r = c.width / c.clientWidth;"
            "var d = c.getContext('2d').getImageData(Math.floor(arguments[0] * r),"
            " Math.floor(arguments[1] * r), 1, 1).data; return [d[0], d[1], d[2]];",
            x0 + bd * cell, y0 + 0.5 * cell)
        inside = driver.execute_script(
            "var c = document.querySelector('.mhv-heatmap'), r = c.width / c.clientWidth;"
            "var d = c.getContext('2d').getImageData(Math.floor(arguments[0] * r),"
            " Math.floor(arguments[1] * r), 1, 1).data; return [d[0], d[1], d[2]];",
            x0 + (bd - 0.5) * cell, y0 + 0.5 * cell)
        check("the pair boundary is a white line", px == [255, 255, 255] and inside != px,
              (px, inside))
finally:
    driver.quit()
finish(page)
