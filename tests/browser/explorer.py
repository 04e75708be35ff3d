#!/usr/bin/python3
"""explorer.py PAGE.html RUN.json SHOTS_DIR: the HTML explorer in a real browser.

Debian's chromium, headless, driven by chromedriver through python3-selenium, opens the page
from file:// with the network emulated offline and name resolution and proxying pointed
nowhere (chromium.py), then checks that it paints (a screenshot that is not blank), that
hovering a cell shows the weight of the JSON output of the same run, that the layer and head
selectors and a thumbnail click switch heads, that clicking a token outlines its row and column, that the
line view draws and reacts to hover, and that no request left the page. Screenshots are
saved in SHOTS_DIR. Prints one line per check; exits 1 when one fails.

explorer.py --decoder ...: a decoder's page (the masked triangle); explorer.py --seq2seq ...:
an encoder-decoder's page: the stack selector switches between the encoder, decoder and
cross-attention maps, the cross map is target rows x source columns with hover reading the
JSON's cross weights, the line view joins target tokens to source tokens, and the model view
shows the chosen stack's heads.
"""
import json
import os
import struct
import sys
import time
import zlib

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from chromium import check, finish, open_page, requests_outside, script_errors, start

# --decoder: the page of a decoder: its masked cells are hatched and say so on hover
decoder = sys.argv[1] == "--decoder"
seq2seq = sys.argv[1] == "--seq2seq"
# --seq2seq-agg: a page of run --aggregate mean (the JSON beside it holds the means only)
s2s_agg = sys.argv[1] == "--seq2seq-agg"
page, ref_path, shots = sys.argv[2:5] if decoder or seq2seq or s2s_agg else sys.argv[1:4]
ref = json.load(open(ref_path, encoding="utf-8"))


def png_pixels(data):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def not_blank(png):
    """Distinct colours and the share of non-white pixels of a screenshot."""
    w, h, bpp, rows = png_pixels(png)
    colours, ink = set(), 0
    for r in rows[::2]:
        for x in range(0, w * bpp, 2 * bpp):
            px = r[x:x + 3]
            colours.add(px)
            ink += px != b"\xff\xff\xff"
    return len(colours), ink / ((h // 2) * (w // 2) or 1)


def shot(driver, name):
    png = driver.get_screenshot_as_png()
    with open(os.path.join(shots, name), "wb") as f:
        f.write(png)
    return png


def weights_of(sent, layer, head, stack=None):
    for a in ref["sentences"][sent]["attentions"]:
        if a["layer"] == layer and a.get("head", -1) == head and a.get("stack") == stack:
            return a["weights"]
    raise KeyError((layer, head, stack))


driver = start(1400)
try:
    t0 = time.time()
    root = open_page(driver, page, ".mhv-root")
    load = time.time() - t0
    print("page ready in %.0f ms (first view drawn %s ms after navigation)"
          % (load * 1000, root.get_attribute("data-ready-ms")))

    errors = script_errors(driver)
    check("no script errors", not errors, errors)
    colours, ink = not_blank(shot(driver, "head.png"))
    check("head view paints", colours >= 20 and ink > 0.05, "%d colours, %.1f%% ink" % (colours, ink * 100))
    if not seq2seq and not s2s_agg:
        check("starts on layer 0, head 0", root.get_attribute("data-state") == "head 0 0 0",
              root.get_attribute("data-state"))

    def hover_cell(i, j):
        over = driver.find_element(By.CSS_SELECTOR, ".mhv-overlay")
        x0, y0, cell = (float(over.get_attribute(k)) for k in ("data-x0", "data-y0", "data-cell"))
        size = over.size
        x = x0 + (j + 0.5) * cell - size["width"] / 2
        y = y0 + (i + 0.5) * cell - size["height"] / 2
        ActionChains(driver).move_to_element_with_offset(over, int(round(x)), int(round(y))).perform()
        tip = driver.find_element(By.CSS_SELECTOR, ".mhv-tip")
        return tip.text, tip.get_attribute("data-value")

    def hover_matches(layer, head, cells, what, stack=None):
        w = weights_of(0, layer, head, stack)
        q, k = ("target", "source") if stack == "cross" else ("query", "key")
        bad = []
        for i, j in cells:
            text, value = hover_cell(i, j)
            shown = float(text.rsplit(" ", 1)[-1]) if "weight" in text else None
            x = w[i][j]
            tol = x ** 0.5 / 255 + 0.0006
            if shown is None or abs(shown - x) > tol or ("%s %d:" % (q, i)) not in text or \
                    ("%s %d:" % (k, j)) not in text:
                bad.append((i, j, text, x))
        check(what, not bad, bad[:3])

    if s2s_agg:
        s0 = ref["sentences"][0]
        Select(driver.find_element(By.CSS_SELECTOR, "select.mhv-stack-select")).select_by_value("cross")
        Select(driver.find_element(By.CSS_SELECTOR, "select.mhv-layer")).select_by_value("1")
        Select(driver.find_element(By.CSS_SELECTOR, "select.mhv-head")).select_by_value("-1")
        check("aggregate: the cross stack's mean view", root.get_attribute("data-state") ==
              "head 1 -1 0 cross", root.get_attribute("data-state"))
        nt, ns = len(s0["target_tokens"]), len(s0["tokens"])
        hover_matches(1, -1, [(0, 0), (nt - 1, ns - 1), (nt // 2, 1)],
                      "aggregate: hover reads the JSON's cross mean (layer 1)", "cross")
        Select(driver.find_element(By.CSS_SELECTOR, "select.mhv-stack-select")).select_by_value("encoder")
        Select(driver.find_element(By.CSS_SELECTOR, "select.mhv-layer")).select_by_value("0")
        Select(driver.find_element(By.CSS_SELECTOR, "select.mhv-head")).select_by_value("-1")
        hover_matches(0, -1, [(0, 0), (ns - 1, 1)], "aggregate: the encoder's mean (layer 0)",
                      "encoder")
        shot(driver, "s2s-agg.png")
        errors = script_errors(driver)
        check("no script errors", not errors, errors)
        finish(page)
    if seq2seq:
        s0 = ref["sentences"][0]
        ns, nt = len(s0["tokens"]), len(s0["target_tokens"])
        check("starts on the encoder", root.get_attribute("data-state") == "head 0 0 0 encoder",
              root.get_attribute("data-state"))
        hover_matches(0, 0, [(0, 0), (ns - 1, 1), (2, ns - 2)], "encoder: hover", "encoder")
        stack = Select(driver.find_element(By.CSS_SELECTOR, "select.mhv-stack-select"))
        check("stack selector offers the three stacks",
              [o.get_attribute("value") for o in stack.options] == ["encoder", "decoder", "cross"])
        stack.select_by_value("cross")
        check("stack selector switches to cross", root.get_attribute("data-state") ==
              "head 0 0 0 cross", root.get_attribute("data-state"))
        over = driver.find_element(By.CSS_SELECTOR, ".mhv-overlay")
        check("cross map is target rows x source columns",
              (over.get_attribute("data-n"), over.get_attribute("data-cols")) == (str(nt), str(ns)),
              (over.get_attribute("data-n"), over.get_attribute("data-cols")))
        Select(driver.find_element(By.CSS_SELECTOR, "select.mhv-layer")).select_by_value("1")
        Select(driver.find_element(By.CSS_SELECTOR, "select.mhv-head")).select_by_value("2")
        hover_matches(1, 2, [(0, 0), (nt - 1, ns - 1), (nt // 2, 1), (1, ns - 2)],
                      "cross: hover reads the JSON's cross weight (layer 1, head 2)", "cross")
        colours, ink = not_blank(shot(driver, "s2s-cross.png"))
        check("cross view paints", colours >= 20 and ink > 0.03, "%d colours" % colours)
        stack.select_by_value("decoder")
        text, value = hover_cell(0, nt - 1)
        check("decoder: a later key is masked", "masked" in text and value == "", text)
        hover_matches(1, 2, [(nt - 1, 0), (nt - 1, nt - 1)], "decoder: hover", "decoder")
        shot(driver, "s2s-decoder.png")
        stack.select_by_value("cross")
        driver.find_element(By.CSS_SELECTOR, "button[data-view=lines]").click()
        lines = driver.find_element(By.CSS_SELECTOR, "canvas.mhv-lines")
        y0, row, xl, xr = (float(lines.get_attribute(k))
                           for k in ("data-y0", "data-row", "data-xl", "data-xr"))
        ActionChains(driver).move_to_element_with_offset(
            lines, int(xl - 6 - lines.size["width"] / 2),
            int(y0 + 2.5 * row - lines.size["height"] / 2)).perform()
        tip = driver.find_element(By.CSS_SELECTOR, ".mhv-tip").text
        want = s0["target_tokens"][2]
        check("cross line view: a target token on the left", tip.startswith("target 2:") and
              "head 2:" in tip, tip)
        ActionChains(driver).move_to_element_with_offset(
            lines, int(xr + 6 - lines.size["width"] / 2),
            int(y0 + (ns - 0.5) * row - lines.size["height"] / 2)).perform()
        tip = driver.find_element(By.CSS_SELECTOR, ".mhv-tip").text
        check("cross line view: the last source token on the right",
              tip.startswith("source %d:" % (ns - 1)), tip)
        colours, ink = not_blank(shot(driver, "s2s-lines.png"))
        check("cross line view paints", colours >= 5 and ink > 0.005, "%d colours" % colours)
        driver.find_element(By.CSS_SELECTOR, "button[data-view=model]").click()
        WebDriverWait(driver, 20).until(lambda d: root.get_attribute("data-thumbs") == "done")
        thumbs = driver.find_elements(By.CSS_SELECTOR, "canvas.mhv-thumb")
        L, H = ref["model"]["num_decoder_layers"], ref["model"]["num_heads"]
        check("model view: the cross stack's heads", len(thumbs) == L * H, len(thumbs))
        shot(driver, "s2s-model.png")
        driver.find_element(By.CSS_SELECTOR, "canvas.mhv-thumb[data-layer='0'][data-head='3']").click()
        check("thumbnail click opens the cross head", root.get_attribute("data-state") ==
              "head 0 3 0 cross", root.get_attribute("data-state"))
        errors = script_errors(driver)
        check("no script errors", not errors, errors)
        finish(page)

    n = len(ref["sentences"][0]["tokens"])
    if decoder:
        text, value = hover_cell(0, n - 1)
        check("decoder: a later key is masked", "masked" in text and value == "", text)
        hover_matches(0, 0, [(n - 1, 0), (n - 1, n - 1), (2, 1)], "decoder: hover below the diagonal")
        hatched = driver.execute_script(
            "var c = document.querySelector('.mhv-heatmap'), g = c.getContext('2d'),"
            " r = c.width / parseFloat(c.style.width), o = document.querySelector('.mhv-overlay');"
            "var x0 = +o.getAttribute('data-x0'), y0 = +o.getAttribute('data-y0'), cell = +o.getAttribute('data-cell');"
            "var d = g.getImageData(Math.round((x0 + (arguments[0] - 1) * cell) * r), Math.round(y0 * r),"
            " Math.round(cell * r), Math.round(cell * r)).data, seen = {};"
            "for (var i = 0; i < d.length; i += 4) seen[d[i] + ',' + d[i + 1] + ',' + d[i + 2]] = 1;"
            "return Object.keys(seen);", n)
        check("decoder: the masked triangle is hatched grey", "242,242,242" in hatched and
              any(k != "242,242,242" for k in hatched), hatched[:4])
        shot(driver, "decoder.png")
        finish(page)
    cells = [(0, 0), (n - 1, n - 1), (n // 2, 1), (3, n - 2), (n - 3, n // 3)]
    hover_matches(0, 0, cells, "hover shows the JSON weight (layer 0, head 0)")
    shot(driver, "head-hover.png")

    Select(driver.find_element(By.CSS_SELECTOR, "select.mhv-layer")).select_by_value("2")
    check("layer selector switches", root.get_attribute("data-state") == "head 2 0 0",
          root.get_attribute("data-state"))
    hover_matches(2, 0, cells, "hover after the layer switch (layer 2, head 0)")
    Select(driver.find_element(By.CSS_SELECTOR, "select.mhv-head")).select_by_value("3")
    check("head selector switches", root.get_attribute("data-state") == "head 2 3 0",
          root.get_attribute("data-state"))
    hover_matches(2, 3, cells, "hover after the head switch (layer 2, head 3)")

    # a click on a query label outlines its row and column on the overlay
    over = driver.find_element(By.CSS_SELECTOR, ".mhv-overlay")
    x0, y0, cell = (float(over.get_attribute(k)) for k in ("data-x0", "data-y0", "data-cell"))
    ActionChains(driver).move_to_element_with_offset(
        over, int(x0 - 10 - over.size["width"] / 2),
        int(y0 + 4.5 * cell - over.size["height"] / 2)).click().perform()
    # off the canvas: no hover box
    ActionChains(driver).move_to_element(driver.find_element(By.CSS_SELECTOR, ".mhv-root h1")).perform()
    outlined = driver.execute_script(
        "var c = arguments[0], g = c.getContext('2d'), r = c.width / parseFloat(c.style.width);"
        "var x0 = +c.getAttribute('data-x0'), y0 = +c.getAttribute('data-y0'),"
        " cell = +c.getAttribute('data-cell'), n = +c.getAttribute('data-n');"
        "function dark(x, y) { var d = g.getImageData(Math.round(x * r), Math.round(y * r), 1, 1).data;"
        " return d[3] > 200 && d[0] < 60; }"
        "return [dark(x0 + 0.4, y0 + 4.5 * cell), dark(x0 + 4.5 * cell, y0 + 0.4),"
        " dark(x0 + 0.4, y0 + 1.5 * cell)];", over)
    check("clicking a token outlines its row and column", outlined == [True, True, False], outlined)
    shot(driver, "head-outlined.png")

    driver.find_element(By.CSS_SELECTOR, "button[data-view=model]").click()
    WebDriverWait(driver, 20).until(lambda d: root.get_attribute("data-thumbs") == "done")
    thumbs = driver.find_elements(By.CSS_SELECTOR, "canvas.mhv-thumb")
    L, H = ref["model"]["num_layers"], ref["model"]["num_heads"]
    check("model view: one thumbnail per head", len(thumbs) == L * H, len(thumbs))
    colours, ink = not_blank(shot(driver, "model.png"))
    check("model view paints", colours >= 20 and ink > 0.05, "%d colours" % colours)
    driver.find_element(By.CSS_SELECTOR, "canvas.mhv-thumb[data-layer='1'][data-head='2']").click()
    check("thumbnail click opens the head", root.get_attribute("data-state") == "head 1 2 0",
          root.get_attribute("data-state"))
    hover_matches(1, 2, cells, "hover after the thumbnail click (layer 1, head 2)")

    driver.find_element(By.CSS_SELECTOR, "button[data-view=lines]").click()
    # every head of the layer overlaid (each click redraws the view)
    for k in range(len(driver.find_elements(By.CSS_SELECTOR, ".mhv-heads input[type=checkbox]"))):
        box = driver.find_elements(By.CSS_SELECTOR, ".mhv-heads input[type=checkbox]")[k]
        if not box.is_selected():
            box.click()
    lines = driver.find_element(By.CSS_SELECTOR, "canvas.mhv-lines")
    colours, ink = not_blank(shot(driver, "lines.png"))
    check("line view paints, heads overlaid", colours >= 8 and ink > 0.01, "%d colours" % colours)
    y0, row, xl = (float(lines.get_attribute(k)) for k in ("data-y0", "data-row", "data-xl"))
    ActionChains(driver).move_to_element_with_offset(
        lines, int(xl - 6 - lines.size["width"] / 2),
        int(y0 + 4.5 * row - lines.size["height"] / 2)).perform()
    tip = driver.find_element(By.CSS_SELECTOR, ".mhv-tip").text
    check("line view hover focuses a token", tip.startswith("query 4:") and "head 3:" in tip, tip)
    shot(driver, "lines-hover.png")

    # every request the page made: the file itself only
    outside = requests_outside(driver, page)
    resources = driver.execute_script("return performance.getEntriesByType('resource').length;")
    check("no request left the page", not outside and resources == 0, (outside, resources))
finally:
    driver.quit()
finish(page)
