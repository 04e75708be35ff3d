/* html_app.js - the mhaviz attention explorer, embedded in every OUT/<stem>.html.
 *
 * Plain JavaScript (ES5 plus typed arrays and canvas), no framework, nothing fetched: the
 * data sits in <script type="application/json"> blocks beside this script (lib/fig/html.c).
 * Each .mhv-root in the document is one explorer, so a notebook may show several.
 * Views: head (one matrix; hover reads a weight, click a token to outline its row and
 * column), lines (queries left, keys right, several heads overlaid), model (layers x heads
 * thumbnails; click one to open it). Weights come 8-bit on a square-root scale and are
 * decoded per head on first use. Encoder-decoder pages (info.stacks) hold three stacks,
 * chosen by a selector: encoder (source x source), decoder (target x target, causal) and
 * cross (target rows x source columns); heads then carry their stack as a 4th field.
 * A sentence of `run --rows` has "rows" (the kept query positions): its maps are those rows
 * x every key, causal rows masked after their own token. A sentence pair has "boundary" (its
 * second sentence's first token), drawn as a white line as in the PNGs. A long sentence
 * (past 512 tokens) has "pool" and "zoom": its "heads" and "views" are then an overview
 * pooled in blocks of pool.block tokens (pool.m a side, pool.labels), and "zheads" and
 * "zviews" the tokens zoom.t0..t1-1 at full resolution; a button switches between them. */
(function () {
  'use strict';

  var INK = '#222', MUTED = '#999', SPECIAL = '#3b6ea8', BYTES = '#a0522d';
  var STYLE_RGB = [INK, MUTED, SPECIAL, BYTES];
  var MASK_BG = '#f2f2f2', MASK_FG = '#c4c4c4';
  /* distinct colours for overlaid heads (Tableau 10), then repeated darker */
  var HEAD_RGB = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b',
                  '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  var FONT = 'system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", ' +
             '"WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif';
  var LUT = new Float32Array(256);
  for (var q = 0; q < 256; q++) LUT[q] = (q / 255) * (q / 255);

  function el(tag, attrs, parent) {
    var e = document.createElement(tag);
    for (var k in attrs) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'cls') e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    if (parent) parent.appendChild(e);
    return e;
  }

  function b64bytes(s) {
    var bin = atob(s), n = bin.length, out = new Uint8Array(n);
    for (var i = 0; i < n; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function fmt(w) {
    return w >= 0.9995 ? '1.000' : w.toFixed(3);
  }

  /* A canvas sized w x h CSS px, backed by device pixels. */
  function hiCanvas(w, h, parent) {
    var c = el('canvas', {}, parent), r = window.devicePixelRatio || 1;
    var maxPx = 16384;
    r = Math.min(r, maxPx / Math.max(w, 1), maxPx / Math.max(h, 1));
    c.width = Math.max(1, Math.round(w * r));
    c.height = Math.max(1, Math.round(h * r));
    c.style.width = w + 'px';
    c.style.height = h + 'px';
    var ctx = c.getContext('2d');
    ctx.setTransform(r, 0, 0, r, 0, 0);
    return {c: c, ctx: ctx, w: w, h: h};
  }

  function hatch(ctx) {
    var p = document.createElement('canvas');
    p.width = p.height = 6;
    var g = p.getContext('2d');
    g.fillStyle = MASK_BG;
    g.fillRect(0, 0, 6, 6);
    g.strokeStyle = MASK_FG;
    g.lineWidth = 1.5;
    g.beginPath();
    g.moveTo(-1, 1); g.lineTo(1, -1);
    g.moveTo(0, 6); g.lineTo(6, 0);
    g.moveTo(5, 7); g.lineTo(7, 5);
    g.stroke();
    return ctx.createPattern(p, 'repeat');
  }

  function init(root) {
    root.mhvInit = true;
    var info = JSON.parse(root.querySelector('script.mhv-info').textContent);
    var sents = [];
    var blocks = root.querySelectorAll('script.mhv-sentence');
    for (var b = 0; b < blocks.length; b++) sents.push(JSON.parse(blocks[b].textContent));
    var cmaps = {};
    for (var name in info.cmaps) cmaps[name] = b64bytes(info.cmaps[name]);
    var causal = !!info.causal;
    var stacks = info.stacks || null;

    var st = {s: 0, view: 'head', layer: -1, head: -1, cmap: info.cmap, scale: info.scale,
              sel: -1, lineHeads: null, minw: 0.02, stack: stacks ? 'encoder' : 'self'};

    /* ---- data ---------------------------------------------------------------------- */

    function sent() { return sents[st.s]; }

    function stackOf(e) { return e[3] || 'self'; }
    /* an aggregate view [layer, data] of a one-stack model, [layer, data, stack] else */
    function viewStack(v) { return v[2] || 'self'; }

    /* the current stack's maps: R query rows (tokens rt) x C key columns (tokens ct) */
    function geom() {
      var S = sent();
      if (st.stack === 'decoder')
        return {R: S.nt, C: S.nt, rt: S.target_tokens, ct: S.target_tokens, causal: true, cross: false};
      if (st.stack === 'cross')
        return {R: S.nt, C: S.n, rt: S.target_tokens, ct: S.tokens, causal: false, cross: true};
      if (S.pool) return longGeom(S);
      if (S.rows) /* kept query rows: rows and columns are different tokens */
        return {R: S.rows.length, C: S.n, ct: S.tokens, causal: causal, cross: false,
                rect: true, rp: S.rows, rt: S.rows.map(function (p) { return S.tokens[p]; })};
      return {R: S.n, C: S.n, rt: S.tokens, ct: S.tokens, causal: causal, cross: false};
    }

    /* a long sentence: the overview (rows: blocks, or the kept rows; columns: blocks of
     * kb tokens) or, with st.zoom, its window at full resolution; rp: the rows' positions,
     * column j: keys from k0 + j * kb */
    function longGeom(S) {
      var z = S.zoom, P = S.pool, rp = [], i;
      function toks(ps) { return ps.map(function (p) { return S.tokens[p]; }); }
      if (st.zoom) {
        if (z.rows) rp = z.rows; else for (i = z.t0; i < z.t1; i++) rp.push(i);
        return {R: rp.length, C: z.t1 - z.t0, rt: toks(rp), ct: S.tokens.slice(z.t0, z.t1),
                causal: causal, cross: false, rect: !!z.rows, rp: rp, k0: z.t0, kb: 1};
      }
      if (S.rows) rp = S.rows; else for (i = 0; i < P.m; i++) rp.push(i * P.block);
      return {R: rp.length, C: P.m, rt: S.rows ? toks(rp) : P.labels, ct: P.labels,
              causal: causal, cross: false, rect: !!S.rows, rp: rp, k0: 0, kb: P.block,
              pooled: true};
    }

    /* the sentence position of map row i, of the first key of column j */
    function rowPos(G, i) { return G.rp ? G.rp[i] : i; }
    function keyPos(G, j) { return (G.k0 || 0) + j * (G.kb || 1); }

    function tokText(t) {
      if (typeof t === 'string') return t;
      var s = '';
      for (var i = 0; i < t.length; i += 2) s += t[i];
      return s;
    }

    /* weights of (layer, head) of the current sentence and stack as Float32Array(R*C),
     * masked NaN; head -1 is the aggregate view of the layer */
    function weights(layer, head) {
      var S = sent(), G = geom(), zoom = S.pool && st.zoom;
      var key = st.stack + ':' + layer + ':' + head + (zoom ? ':zoom' : '');
      S.cache = S.cache || {};
      if (S.cache[key]) return S.cache[key];
      var src = null, i, j;
      if (head < 0) {
        var vs = (zoom ? S.zviews : S.views) || [];
        for (i = 0; i < vs.length; i++)
          if (vs[i][0] === layer && viewStack(vs[i]) === st.stack) src = vs[i][1];
      } else {
        var hl = zoom ? S.zheads : S.heads;
        for (i = 0; i < hl.length; i++)
          if (hl[i][0] === layer && hl[i][1] === head && stackOf(hl[i]) === st.stack)
            src = hl[i][2];
      }
      if (src === null) return null;
      var R = G.R, C = G.C, by = b64bytes(src), w = new Float32Array(R * C), k = 0;
      for (i = 0; i < R; i++)
        for (j = 0; j < C; j++)
          w[i * C + j] = G.causal && keyPos(G, j) > rowPos(G, i) ? NaN : LUT[by[k++]];
      S.cache[key] = w;
      return w;
    }

    /* colormap positions t(R*C) of w(R, C) under the scale (C = R when not given); NaN
     * stays NaN */
    function norm(w, R, C) {
      if (C === undefined) C = R;
      var t = new Float32Array(R * C), i, j, v, hmax = 0;
      for (i = 0; i < R * C; i++) if (w[i] > hmax) hmax = w[i];
      for (i = 0; i < R; i++) {
        var div = 1;
        if (st.scale === 'head') div = hmax;
        else if (st.scale === 'row') {
          div = 0;
          for (j = 0; j < C; j++) if (w[i * C + j] > div) div = w[i * C + j];
        }
        for (j = 0; j < C; j++) {
          v = w[i * C + j];
          t[i * C + j] = v !== v ? NaN : div > 0 ? v / div : 0;
        }
      }
      return t;
    }

    function cmapIndex(t) {
      var k = Math.floor(t * 256);
      return k < 0 ? 0 : k > 255 ? 255 : k;
    }

    function rgbOf(t) {
      var m = cmaps[st.cmap], k = 3 * cmapIndex(t);
      return 'rgb(' + m[k] + ',' + m[k + 1] + ',' + m[k + 2] + ')';
    }

    /* the matrix as an R x C image (C = R when not given), one pixel per cell, masked
     * cells transparent */
    function matrixImage(t, R, C) {
      if (C === undefined) C = R;
      var c = document.createElement('canvas');
      c.width = C;
      c.height = R;
      var g = c.getContext('2d'), img = g.createImageData(C, R), d = img.data, m = cmaps[st.cmap];
      for (var i = 0; i < R * C; i++) {
        var v = t[i];
        if (v !== v) continue;
        var k = 3 * cmapIndex(v);
        d[4 * i] = m[k]; d[4 * i + 1] = m[k + 1]; d[4 * i + 2] = m[k + 2]; d[4 * i + 3] = 255;
      }
      g.putImageData(img, 0, 0);
      return c;
    }

    function layersPresent() {
      var S = sent(), ls = [], seen = {}, i;
      for (i = 0; i < S.heads.length; i++)
        if (stackOf(S.heads[i]) === st.stack && !seen[S.heads[i][0]]) {
          seen[S.heads[i][0]] = 1; ls.push(S.heads[i][0]);
        }
      for (i = 0; i < (S.views || []).length; i++)
        if (viewStack(S.views[i]) === st.stack && !seen[S.views[i][0]]) {
          seen[S.views[i][0]] = 1; ls.push(S.views[i][0]);
        }
      return ls.sort(function (a, b) { return a - b; });
    }

    /* heads of a layer: real heads, then -1 for its aggregate view */
    function headsOf(layer) {
      var S = sent(), hs = [], i;
      for (i = 0; i < S.heads.length; i++)
        if (S.heads[i][0] === layer && stackOf(S.heads[i]) === st.stack) hs.push(S.heads[i][1]);
      for (i = 0; i < (S.views || []).length; i++)
        if (S.views[i][0] === layer && viewStack(S.views[i]) === st.stack) hs.push(-1);
      return hs;
    }

    function headName(h) {
      var S = sent();
      if (h < 0)
        return S.agg === 'rollout' ? 'rollout of layers 0..' + st.layer
          : S.agg === 'flow' ? 'attention flow through layers 0..' + st.layer
          : S.agg + ' of heads';
      return 'head ' + h + (S.kv_group > 0 ? ' (kv head ' + Math.floor(h / S.kv_group) + ')' : '');
    }

    /* ---- page ---------------------------------------------------------------------- */

    el('h1', {text: info.title}, root);
    var sub = el('div', {cls: 'mhv-sub'}, root);
    var bar = el('div', {cls: 'mhv-bar'}, root);
    var tabs = el('span', {cls: 'mhv-tabs', role: 'group'}, bar);
    var tabBtn = {};
    [['head', 'Head'], ['lines', 'Lines'], ['model', 'Model']].forEach(function (v) {
      var bt = el('button', {type: 'button', text: v[1], 'data-view': v[0]}, tabs);
      bt.addEventListener('click', function () { st.view = v[0]; render(); });
      tabBtn[v[0]] = bt;
    });
    function selector(label, cls) {
      var l = el('label', {text: label + ' '}, bar);
      return el('select', {cls: cls}, l);
    }
    var selSent = selector('sentence', 'mhv-sentence-select');
    var selStack = null;
    if (stacks) {
      selStack = selector('stack', 'mhv-stack-select');
      ['encoder', 'decoder', 'cross'].forEach(function (s) {
        if (stacks[s] > 0) el('option', {value: s, text: s}, selStack);
      });
      selStack.value = st.stack;
      selStack.addEventListener('change', function () {
        st.stack = selStack.value; st.sel = -1; st.lineHeads = null; render();
      });
    }
    var zoomBtn = el('button', {type: 'button', cls: 'mhv-zoom'}, bar);
    zoomBtn.addEventListener('click', function () {
      st.zoom = !st.zoom; st.sel = -1; st.lineHeads = null; render();
    });
    var selLayer = selector('layer', 'mhv-layer');
    var selHead = selector('head', 'mhv-head');
    var selCmap = selector('colormap', 'mhv-cmap');
    var selScale = selector('scale', 'mhv-scale');
    sents.forEach(function (S, i) {
      var t = S.text.length > 60 ? S.text.slice(0, 60) + '\u2026' : S.text;
      el('option', {value: i, text: (i + 1) + ': ' + t}, selSent);
    });
    for (var cn in cmaps) el('option', {value: cn, text: cn}, selCmap);
    ['fixed', 'head', 'row'].forEach(function (s) { el('option', {value: s, text: s}, selScale); });
    selCmap.value = st.cmap;
    selScale.value = st.scale;
    if (sents.length < 2) selSent.parentNode.style.display = 'none';
    var status = el('div', {cls: 'mhv-status', 'aria-live': 'polite'}, root);
    var view = el('div', {cls: 'mhv-view'}, root);
    el('div', {cls: 'mhv-note', text: 'Weights are shown to 8 bits (within 0.4%); the JSON ' +
               'output (--format json) has them exactly. Rows are queries, columns keys; ' +
               (info.sinks ? 'each row sums to less than 1: the attention sinks take the ' +
                'rest. ' : 'each row sums to 1. ') + 'Drawn by mhaviz ' + info.version + '.'},
       root);
    var tip = el('div', {cls: 'mhv-tip'}, root);

    function showTip(ev, text, value) {
      tip.textContent = text;
      tip.setAttribute('data-value', value === undefined ? '' : value);
      tip.style.display = 'block';
      var x = ev.clientX + 14, y = ev.clientY + 14;
      var r = tip.getBoundingClientRect();
      if (x + r.width > window.innerWidth) x = Math.max(0, ev.clientX - r.width - 8);
      if (y + r.height > window.innerHeight) y = Math.max(0, ev.clientY - r.height - 8);
      tip.style.left = x + 'px';
      tip.style.top = y + 'px';
    }
    function hideTip() { tip.style.display = 'none'; }

    selSent.addEventListener('change', function () {
      st.s = +selSent.value; st.sel = -1; st.lineHeads = null; st.zoom = false; fixSelection();
      render();
    });
    selLayer.addEventListener('change', function () {
      st.layer = +selLayer.value; st.lineHeads = null;
      var hs = headsOf(st.layer);
      if (hs.indexOf(st.head) < 0) st.head = hs[0];
      render();
    });
    selHead.addEventListener('change', function () {
      st.head = +selHead.value; st.lineHeads = null; render();
    });
    selCmap.addEventListener('change', function () { st.cmap = selCmap.value; render(); });
    selScale.addEventListener('change', function () { st.scale = selScale.value; render(); });

    function fixSelection() {
      var ls = layersPresent();
      if (ls.indexOf(st.layer) < 0) st.layer = ls[0];
      var hs = headsOf(st.layer);
      if (hs.indexOf(st.head) < 0) st.head = hs[0];
    }

    function fillSelectors() {
      selSent.value = st.s;
      selLayer.textContent = '';
      layersPresent().forEach(function (l) { el('option', {value: l, text: l}, selLayer); });
      selLayer.value = st.layer;
      selHead.textContent = '';
      headsOf(st.layer).forEach(function (h) {
        el('option', {value: h, text: h < 0 ? sent().agg : h}, selHead);
      });
      selHead.value = st.head;
      selHead.parentNode.style.display = st.view === 'model' ? 'none' : '';
      selLayer.parentNode.style.display = st.view === 'model' ? 'none' : '';
      for (var v in tabBtn) tabBtn[v].setAttribute('aria-pressed', v === st.view ? 'true' : 'false');
      var S = sent();
      zoomBtn.style.display = S.pool ? '' : 'none';
      if (S.pool)
        zoomBtn.textContent = st.zoom ? 'overview (all ' + S.n + ' tokens, pooled)'
          : 'zoom: tokens ' + S.zoom.t0 + '\u2013' + (S.zoom.t1 - 1) + ' at full resolution';
      zoomBtn.setAttribute('aria-pressed', st.zoom ? 'true' : 'false');
      if (selStack) {
        selStack.value = st.stack;
        sub.textContent = (info.source ? info.source + ' \u00b7 ' : '') + S.text +
          (S.target ? ' \u2192 ' + S.target : '') + ' \u00b7 ' + S.n + ' source, ' + S.nt +
          ' target tokens';
        return;
      }
      /* a long input's text is cut: the tokens are on the axes */
      var text = S.text.length > 300 ? S.text.slice(0, 300) + '\u2026' : S.text;
      sub.textContent = (info.source ? info.source + ' \u00b7 ' : '') + text +
        ' \u00b7 ' + S.n + ' tokens';
    }

    /* the stack in status lines: "cross " on encoder-decoder pages, "" on the others */
    function stackWord() { return stacks ? st.stack + ' ' : ''; }

    function render() {
      fixSelection();
      fillSelectors();
      hideTip();
      view.textContent = '';
      if (st.view === 'lines') drawLines();
      else if (st.view === 'model') drawModel();
      else drawHead();
      root.setAttribute('data-state', st.view + ' ' + st.layer + ' ' + st.head + ' ' + st.s +
                        (stacks ? ' ' + st.stack : '') + (sent().pool && st.zoom ? ' zoom' : ''));
    }

    /* ---- labels -------------------------------------------------------------------- */

    function labelWidth(ctx, t) {
      return ctx.measureText(tokText(t)).width;
    }

    /* draws token t with its parts' colours starting at (x, y) on the baseline */
    function labelDraw(ctx, t, x, y) {
      if (typeof t === 'string') {
        ctx.fillStyle = INK;
        ctx.fillText(t, x, y);
        return;
      }
      for (var i = 0; i < t.length; i += 2) {
        ctx.fillStyle = STYLE_RGB[t[i + 1]] || INK;
        ctx.fillText(t[i], x, y);
        x += ctx.measureText(t[i]).width;
      }
    }

    /* every k-th label when the cells are smaller than the text */
    function thinning(cell, px) {
      return Math.max(1, Math.ceil((px + 1) / cell));
    }

    /* ---- head view ----------------------------------------------------------------- */

    function drawHead() {
      var G = geom(), R = G.R, C = G.C, rt = G.rt, ct = G.ct, w = weights(st.layer, st.head);
      status.textContent = stackWord() + 'layer ' + st.layer + ', ' + headName(st.head) +
        ' \u2014 hover a cell to read its weight; click a token to outline its ' +
        (G.cross || G.rect ? 'row or column' : 'row and column') +
        (G.rect ? ' (kept query rows ' + G.rp.join(', ') + ')' : '') +
        (G.pooled ? '; overview: ' + sent().pool.kind + ' of ' + G.kb + '\u00d7' + G.kb +
         '-token blocks (the zoom button shows tokens ' + sent().zoom.t0 + '\u2013' +
         (sent().zoom.t1 - 1) + ', outlined, cell by cell)' : '') +
        (sent().pool && st.zoom ? '; zoom: tokens ' + sent().zoom.t0 + '\u2013' +
         (sent().zoom.t1 - 1) + ' at full resolution' : '');
      if (!w) return;
      var t = norm(w, R, C), n = Math.max(R, C);
      /* the matrix fits the window: beside the labels and colourbar, below the controls */
      var availW = Math.max(240, Math.min(view.clientWidth || 800, 1400) - 260);
      var availH = Math.max(240, (window.innerHeight || 800) - view.getBoundingClientRect().top - 140);
      var cell = Math.max(2, Math.min(36, Math.floor(Math.min(availW, availH, 720) / n)));
      var px = Math.max(9, Math.min(13, cell * 0.7));
      var k = thinning(cell, px);
      var meas = document.createElement('canvas').getContext('2d');
      meas.font = px + 'px ' + FONT;
      var maxr = 0, maxc = 0, i, j;
      for (i = 0; i < R; i++) maxr = Math.max(maxr, labelWidth(meas, rt[i]));
      for (j = 0; j < C; j++) maxc = Math.max(maxc, labelWidth(meas, ct[j]));
      /* key labels turn to read upwards when any is wider than its column, except single
       * CJK characters that fit, which stay upright as in vertical typesetting (as the PNGs) */
      var rotate = maxc > cell - 2;
      function upright(t) {
        var s2 = tokText(t);
        return s2.length === 1 && s2.charCodeAt(0) >= 0x2e80 && meas.measureText(s2).width <= cell - 2;
      }
      var pad = 6, x0 = Math.ceil(maxr) + pad + 18, y0 = (rotate ? Math.ceil(maxc) : px + 4) + pad + 18;
      var matW = C * cell, matH = R * cell;
      var W = x0 + matW + 90, H = y0 + Math.max(matH, 120) + 16 + (k > 1 ? 18 : 0);
      var stack = el('div', {cls: 'mhv-stack'}, view);
      var base = hiCanvas(W, H, stack), over = hiCanvas(W, H, stack);
      base.c.className = 'mhv-heatmap';
      over.c.className = 'mhv-overlay';
      /* geometry for tests and scripts: matrix origin and cell size in CSS px */
      over.c.setAttribute('data-x0', x0);
      over.c.setAttribute('data-y0', y0);
      over.c.setAttribute('data-cell', cell);
      over.c.setAttribute('data-n', R);
      if (G.cross || G.rect) over.c.setAttribute('data-cols', C);
      if (G.rp) over.c.setAttribute('data-rows', G.rp.join(' '));
      var g = base.ctx;
      g.fillStyle = '#fff';
      g.fillRect(0, 0, W, H);
      /* masked cells: the hatch shows through the transparent pixels of the image */
      if (G.causal) {
        g.fillStyle = hatch(g);
        g.fillRect(x0, y0, matW, matH);
      }
      g.imageSmoothingEnabled = false;
      g.drawImage(matrixImage(t, R, C), x0, y0, matW, matH);
      boundaryDraw(g, x0, y0, cell, R, C, G);
      if (G.pooled) { /* the zoom window on the overview */
        var zz = sent().zoom, b0 = Math.floor(zz.t0 / G.kb), b1 = Math.ceil(zz.t1 / G.kb);
        var r0 = 0, r1 = R;
        if (!G.rect) { r0 = b0; r1 = b1; }
        g.strokeStyle = '#000';
        g.lineWidth = 2;
        g.strokeRect(x0 + b0 * cell + 1, y0 + r0 * cell + 1, (b1 - b0) * cell - 2, (r1 - r0) * cell - 2);
        g.strokeStyle = '#fff';
        g.lineWidth = 1;
        g.strokeRect(x0 + b0 * cell + 2.5, y0 + r0 * cell + 2.5, (b1 - b0) * cell - 5, (r1 - r0) * cell - 5);
      }
      g.font = px + 'px ' + FONT;
      g.textBaseline = 'middle';
      for (i = 0; i < R; i += k) {
        var lw = labelWidth(g, rt[i]);
        labelDraw(g, rt[i], x0 - pad - lw, y0 + (i + 0.5) * cell);
      }
      for (j = 0; j < C; j += k) {
        var jw = labelWidth(g, ct[j]);
        if (rotate && !upright(ct[j])) {
          g.save();
          g.translate(x0 + (j + 0.5) * cell, y0 - pad);
          g.rotate(-Math.PI / 2);
          labelDraw(g, ct[j], 0, 0);
          g.restore();
        } else {
          labelDraw(g, ct[j], x0 + (j + 0.5) * cell - jw / 2, y0 - pad - px / 2);
        }
      }
      g.fillStyle = '#444';
      g.font = '11px ' + FONT;
      g.textBaseline = 'alphabetic';
      g.fillText(G.cross ? 'source (key) \u2192' : 'key \u2192', x0, 13);
      g.save();
      g.translate(13, y0 + (G.cross ? 120 : 60));
      g.rotate(-Math.PI / 2);
      g.fillText(G.cross ? '\u2190 target (query)' : '\u2190 query', 0, 0);
      g.restore();
      if (k > 1) {
        g.fillStyle = '#777';
        g.fillText('every ' + k + (k === 2 ? 'nd' : k === 3 ? 'rd' : 'th') +
                   ' token labelled (cells too small for all)', x0, y0 + matH + 16);
      }
      colourbar(g, x0 + matW + 16, y0, Math.max(matH, 120), w, n);
      var hover = {i: -1, j: -1};
      /* the outlined token: st.sel, on both axes of a square map; a cross map's rows and
       * columns are different tokens, so there st.selAxis says which ('row' or 'col') */
      function overlay() {
        var o = over.ctx;
        o.clearRect(0, 0, W, H);
        if (st.sel >= 0) {
          var axis = G.cross || G.rect ? st.selAxis : 'both';
          if (axis !== 'col' && st.sel < R) box(o, x0, y0 + st.sel * cell, matW, cell);
          if (axis !== 'row' && st.sel < C) box(o, x0 + st.sel * cell, y0, cell, matH);
        }
        if (hover.i >= 0) {
          o.strokeStyle = '#fff';
          o.lineWidth = 1;
          o.strokeRect(x0 + hover.j * cell + 0.5, y0 + hover.i * cell + 0.5, cell - 1, cell - 1);
        }
      }
      function box(o, x, y, bw, bh) {
        var d = Math.max(1, Math.min(2, Math.floor(cell / 4)));
        o.lineWidth = d;
        o.strokeStyle = '#000';
        o.strokeRect(x + d / 2, y + d / 2, bw - d, bh - d);
        o.lineWidth = 1;
        o.strokeStyle = '#fff';
        o.strokeRect(x + d + 0.5, y + d + 0.5, bw - 2 * d - 1, bh - 2 * d - 1);
      }
      /* what is under (x, y): a cell, a query label (row) or a key label (column) */
      function hit(ev) {
        var r = over.c.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
        var ci = Math.floor((y - y0) / cell), cj = Math.floor((x - x0) / cell);
        if (ci >= 0 && ci < R && cj >= 0 && cj < C) return {i: ci, j: cj};
        if (x < x0 && ci >= 0 && ci < R) return {tok: ci, axis: 'row'};
        if (y < y0 && cj >= 0 && cj < C) return {tok: cj, axis: 'col'};
        return null;
      }
      var qWord = G.cross ? 'target ' : 'query ', kWord = G.cross ? 'source ' : 'key ';
      over.c.addEventListener('mousemove', function (ev) {
        var h = hit(ev);
        if (h && h.i !== undefined) {
          hover = h;
          var v = w[h.i * C + h.j];
          var txt = qWord + rowPos(G, h.i) + ': ' + tokText(rt[h.i]) + '\n' + kWord + keyPos(G, h.j) + ': ' +
            tokText(ct[h.j]) + '\n' + (v !== v ? 'masked (a later key)' : 'weight ' + fmt(v));
          showTip(ev, txt, v !== v ? '' : v.toFixed(6));
          over.c.style.cursor = 'crosshair';
        } else {
          hover = {i: -1, j: -1};
          if (h) {
            var tt = h.axis === 'col' ? ct : rt;
            showTip(ev, (G.cross ? (h.axis === 'col' ? kWord : qWord) + 'token ' : 'token ') +
                    (h.axis === 'row' ? rowPos(G, h.tok) : h.tok) + ': ' + tokText(tt[h.tok]) +
                    '\nclick to outline');
          } else hideTip();
          over.c.style.cursor = h ? 'pointer' : 'default';
        }
        overlay();
      });
      over.c.addEventListener('mouseleave', function () { hover = {i: -1, j: -1}; hideTip(); overlay(); });
      over.c.addEventListener('click', function (ev) {
        var h = hit(ev);
        if (!h) { st.sel = -1; overlay(); return; }
        var tk = h.tok !== undefined ? h.tok : h.i, ax = h.axis || 'row';
        st.sel = st.sel === tk && (!(G.cross || G.rect) || st.selAxis === ax) ? -1 : tk;
        st.selAxis = ax;
        overlay();
      });
      overlay();
    }

    /* a sentence pair's boundary: a white line before its second sentence's first row (the
     * first kept row at or after it) and column, on a self-attention map */
    function boundaryDraw(g, x0, y0, cell, R, C, G) {
      var b = sent().boundary;
      if (!b || G.cross || st.stack !== 'self') return;
      var rb = 0, cb = (G.kb || 1) > 1 ? -1 : b - (G.k0 || 0);
      while (rb < R && rowPos(G, rb) < b) rb++;
      var th = cell >= 8 ? 2 : 1; /* whole pixels on the cell edge */
      g.fillStyle = '#fff';
      if (rb > 0 && rb < R) g.fillRect(x0, y0 + rb * cell - th / 2, C * cell, th);
      if (cb > 0 && cb < C) g.fillRect(x0 + cb * cell - th / 2, y0, th, R * cell);
    }

    function colourbar(g, x, y, h, w, n) {
      var vmax = 1, caption = 'attention weight', i;
      if (st.scale === 'head') {
        vmax = 0;
        for (i = 0; i < w.length; i++) if (w[i] > vmax) vmax = w[i];
        if (!(vmax > 0)) vmax = 1;
      } else if (st.scale === 'row') caption = 'weight / row max';
      var steps = Math.round(h);
      for (i = 0; i < steps; i++) {
        g.fillStyle = rgbOf(1 - (i + 0.5) / steps);
        g.fillRect(x, y + h * i / steps, 12, h / steps + 0.5);
      }
      g.fillStyle = '#444';
      g.font = '10px ' + FONT;
      g.textBaseline = 'middle';
      var step = [0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1].filter(function (s) {
        return vmax / s <= 5;
      })[0] || 1;
      for (var v = 0; v <= vmax * 1.0001; v += step) {
        var ty = y + h * (1 - v / vmax);
        g.fillRect(x + 12, ty - 0.5, 4, 1);
        g.fillText(String(+v.toFixed(3)), x + 19, ty);
      }
      g.save();
      g.translate(x + 62, y + h / 2);
      g.rotate(-Math.PI / 2);
      g.textAlign = 'center';
      g.fillText(caption, 0, 0);
      g.restore();
    }

    /* ---- line view ----------------------------------------------------------------- */

    function drawLines() {
      var S = sent(), G = geom(), R = G.R, C = G.C, rt = G.rt, ct = G.ct, hs = headsOf(st.layer);
      var n = Math.max(R, C);
      if (!st.lineHeads) st.lineHeads = [st.head];
      status.textContent = stackWord() + 'layer ' + st.layer + ' \u2014 ' +
        (G.cross ? 'target tokens (queries) on the left, source tokens (keys) on the right'
                 : 'queries on the left, keys on the right') +
        '; line opacity and width follow the weight; hover a token to see only its lines';
      var ctl = el('div', {cls: 'mhv-heads'}, view);
      hs.forEach(function (h, idx) {
        var l = el('label', {}, ctl);
        var cb = el('input', {type: 'checkbox', value: h}, l);
        cb.checked = st.lineHeads.indexOf(h) >= 0;
        var sw = el('span', {cls: 'mhv-swatch'}, l);
        sw.style.background = HEAD_RGB[idx % HEAD_RGB.length];
        l.appendChild(document.createTextNode(h < 0 ? S.agg : 'head ' + h));
        cb.addEventListener('change', function () {
          var on = [];
          ctl.querySelectorAll('input[type=checkbox]').forEach(function (c) {
            if (c.checked) on.push(+c.value);
          });
          st.lineHeads = on;
          render();
        });
      });
      var ml = el('label', {text: ' hide weights below '}, ctl);
      var mw = el('input', {type: 'number', min: 0, max: 1, step: 0.01, value: st.minw,
                            cls: 'mhv-minw'}, ml);
      mw.style.width = '5em';
      mw.addEventListener('change', function () {
        var v = parseFloat(mw.value);
        st.minw = v >= 0 && v <= 1 ? v : 0;
        render();
      });
      var px = 13, rowh = Math.max(16, Math.min(24, Math.floor(560 / n))), meas;
      meas = document.createElement('canvas').getContext('2d');
      meas.font = px + 'px ' + FONT;
      var maxw = 0, i, j;
      for (i = 0; i < R; i++) maxw = Math.max(maxw, labelWidth(meas, rt[i]));
      for (j = 0; j < C; j++) maxw = Math.max(maxw, labelWidth(meas, ct[j]));
      if (G.cross) maxw = Math.max(maxw, 80); /* room for the caption "target (query)" */
      var gap = Math.max(160, Math.min(320, n * 6)), xl = 10 + maxw, xr = xl + 10 + gap + 10;
      var W = xr + maxw + 20, H = 30 + n * rowh + 10, y0 = 30;
      var stack = el('div', {cls: 'mhv-stack'}, view);
      var cv = hiCanvas(W, H, stack);
      cv.c.className = 'mhv-lines';
      cv.c.setAttribute('data-y0', y0);
      cv.c.setAttribute('data-row', rowh);
      cv.c.setAttribute('data-xl', xl);
      cv.c.setAttribute('data-xr', xr);
      var sets = [];
      st.lineHeads.forEach(function (h) {
        var w = weights(st.layer, h);
        if (w) sets.push({h: h, w: w, t: norm(w, R, C), rgb: HEAD_RGB[hs.indexOf(h) % HEAD_RGB.length]});
      });
      var focus = null;
      function paint() {
        var g = cv.ctx;
        g.clearRect(0, 0, W, H);
        g.fillStyle = '#fff';
        g.fillRect(0, 0, W, H);
        g.font = '11px ' + FONT;
        g.fillStyle = '#444';
        g.textBaseline = 'alphabetic';
        g.textAlign = 'right';
        g.fillText(G.cross ? 'target (query)' : 'query', xl, 16);
        g.textAlign = 'left';
        g.fillText(G.cross ? 'source (key)' : 'key', xr, 16);
        g.lineCap = 'round';
        sets.forEach(function (s) {
          g.strokeStyle = s.rgb;
          for (var a = 0; a < R; a++)
            for (var b2 = 0; b2 < C; b2++) {
              if (focus && (focus.side === 0 ? focus.i !== a : focus.i !== b2)) continue;
              var v = s.w[a * C + b2], tv = s.t[a * C + b2];
              if (!(v >= st.minw) || !(tv > 0)) continue;
              g.globalAlpha = Math.min(1, 0.08 + 0.92 * tv);
              g.lineWidth = 0.5 + 3 * tv;
              g.beginPath();
              g.moveTo(xl + 8, y0 + (a + 0.5) * rowh);
              g.lineTo(xr - 8, y0 + (b2 + 0.5) * rowh);
              g.stroke();
            }
        });
        g.globalAlpha = 1;
        g.font = px + 'px ' + FONT;
        g.textBaseline = 'middle';
        for (var r = 0; r < n; r++) {
          var yy = y0 + (r + 0.5) * rowh;
          if (r < R) {
            var lw = labelWidth(g, rt[r]);
            if (focus && focus.i === r && focus.side === 0) {
              g.fillStyle = '#e8eef7';
              g.fillRect(xl - lw - 3, yy - rowh / 2, lw + 6, rowh);
            }
            labelDraw(g, rt[r], xl - lw, yy);
          }
          if (r < C) {
            var rw = labelWidth(g, ct[r]);
            if (focus && focus.i === r && focus.side === 1) {
              g.fillStyle = '#e8eef7';
              g.fillRect(xr - 3, yy - rowh / 2, rw + 6, rowh);
            }
            labelDraw(g, ct[r], xr, yy);
          }
        }
      }
      cv.c.addEventListener('mousemove', function (ev) {
        var r = cv.c.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
        var i2 = Math.floor((y - y0) / rowh), f = null;
        if (i2 >= 0 && x <= xl + 4 && i2 < R) f = {side: 0, i: i2};
        else if (i2 >= 0 && x >= xr - 4 && i2 < C) f = {side: 1, i: i2};
        if ((f && focus && f.side === focus.side && f.i === focus.i) || (!f && !focus)) return;
        focus = f;
        paint();
        if (!f) { hideTip(); return; }
        var lines = [];
        sets.forEach(function (s) {
          var best = [], c;
          var other = f.side === 0 ? ct : rt;
          for (c = 0; c < (f.side === 0 ? C : R); c++) {
            var v = f.side === 0 ? s.w[f.i * C + c] : s.w[c * C + f.i];
            if (v === v) best.push([v, c]);
          }
          best.sort(function (p, q2) { return q2[0] - p[0]; });
          lines.push((s.h < 0 ? S.agg : 'head ' + s.h) + ': ' + best.slice(0, 3).map(function (p) {
            return tokText(other[p[1]]) + ' ' + fmt(p[0]);
          }).join(', '));
        });
        var qk = G.cross ? ['target ', 'source '] : ['query ', 'key '];
        showTip(ev, qk[f.side] + (f.side === 0 ? rowPos(G, f.i) : keyPos(G, f.i)) + ': ' +
                tokText((f.side === 0 ? rt : ct)[f.i]) +
                (f.side === 0 ? ' attends most to' : ' is attended most by') + '\n' + lines.join('\n'));
      });
      cv.c.addEventListener('mouseleave', function () { focus = null; hideTip(); paint(); });
      paint();
    }

    /* ---- model view ---------------------------------------------------------------- */

    function drawModel() {
      var S = sent(), G = geom(), n = Math.max(G.R, G.C), ls = layersPresent(), H = info.heads, i;
      var hasAgg = (S.views || []).length > 0;
      status.textContent = (stacks ? 'every captured head of the ' + st.stack + ' stack'
                                   : 'every captured head') +
        ' (rows: layers, columns: heads) \u2014 click a thumbnail to open it in the head view';
      var avail = Math.max(400, (view.clientWidth || 900) - 60);
      var cols = H + (hasAgg ? 1 : 0);
      var th = Math.max(24, Math.min(100, Math.floor(avail / cols) - 4));
      var grid = el('div', {cls: 'mhv-grid'}, view);
      grid.style.gridTemplateColumns = 'auto repeat(' + cols + ', ' + th + 'px)';
      el('div', {}, grid);
      for (i = 0; i < H; i++) el('div', {cls: 'mhv-axis', text: 'H' + i}, grid);
      if (hasAgg) el('div', {cls: 'mhv-axis', text: S.agg}, grid);
      var todo = [];
      ls.forEach(function (l) {
        el('div', {cls: 'mhv-axis', text: 'L' + l}, grid);
        var hs = headsOf(l);
        for (var k2 = 0; k2 < cols; k2++) {
          var h = k2 < H ? k2 : -1;
          if (hs.indexOf(h) < 0) { el('div', {}, grid); continue; }
          var c = el('canvas', {cls: 'mhv-thumb', tabindex: 0, 'data-layer': l, 'data-head': h,
                                title: stackWord() + 'layer ' + l + ', ' + (h < 0 ? S.agg : 'head ' + h)}, grid);
          var r = Math.min(window.devicePixelRatio || 1, 2);
          var tw = th, thh = G.R === G.C ? th : Math.max(4, Math.round(th * G.R / G.C));
          c.width = Math.round(tw * r);
          c.height = Math.round(thh * r);
          c.style.width = tw + 'px';
          c.style.height = thh + 'px';
          (function (l2, h2, c2) {
            function open() { st.layer = l2; st.head = h2; st.view = 'head'; st.lineHeads = null; render(); }
            c2.addEventListener('click', open);
            c2.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') open(); });
          })(l, h, c);
          todo.push([l, h, c]);
        }
      });
      /* thumbnails are decoded and drawn a few at a time, so the grid appears at once */
      var stamp = {};
      view.mhvStamp = stamp;
      function step() {
        if (view.mhvStamp !== stamp) return;
        var t0 = Date.now();
        while (todo.length && Date.now() - t0 < 30) {
          var it = todo.shift(), w = weights(it[0], it[1]), c = it[2], g = c.getContext('2d');
          g.fillStyle = MASK_BG;
          g.fillRect(0, 0, c.width, c.height);
          g.imageSmoothingEnabled = n > c.width;
          g.drawImage(matrixImage(norm(w, G.R, G.C), G.R, G.C), 0, 0, c.width, c.height);
          c.setAttribute('data-drawn', '1');
        }
        if (todo.length) setTimeout(step, 0);
        else root.setAttribute('data-thumbs', 'done');
      }
      root.removeAttribute('data-thumbs');
      step();
    }

    render();
    root.setAttribute('data-ready', '1');
    /* for `make bench`: milliseconds from navigation to the first view drawn */
    if (window.performance && performance.now) root.setAttribute('data-ready-ms', Math.round(performance.now()));
  }

  var roots = document.querySelectorAll('.mhv-root');
  for (var r = 0; r < roots.length; r++) if (!roots[r].mhvInit) init(roots[r]);
})();
