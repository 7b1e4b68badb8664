// The area map: a Canvas 2D choropleth for Streamlit components v2 (ui/area_map.py mounts it).
//
// Shapes arrive once per browser page (data.shapes, keyed by a content hash) and are kept in
// SHAPES; every rerun sends only colours, outlines, tooltip values and the view. Drawing is
// plain Canvas 2D (fast without a GPU); a click, tap or Enter is resolved here on the CPU by
// a point-in-polygon test and sent to Python as the trigger "click". Every string from the
// data is shown with textContent, never parsed as markup.

const SHAPES = (window.__lctAreaShapes = window.__lctAreaShapes || new Map());
const INSTANCES = new WeakMap();
// Web Mercator in "zoom-10 pixels": the world is 512 * 2^10 units wide.
const WORLD = 512 * 1024;
// A chosen view is fitted with 8% of the map to spare on each side; all of London with 2%.
const MIN_ZOOM = 8, MAX_ZOOM = 15, PADDING = 0.08, WHOLE_PADDING = 0.02, FILL_ALPHA = 0.85;
const EARTH_M = 40075016.686;

function mercX(lon) { return (lon + 180) / 360 * WORLD; }
function mercY(lat) {
  const r = lat * Math.PI / 180;
  return (0.5 - Math.log(Math.tan(Math.PI / 4 + r / 2)) / (2 * Math.PI)) * WORLD;
}

// Decode one level's shapes: rings of 1e-4 degree integers, the first pair absolute, then deltas.
function decode(payload) {
  const areas = payload.rings.map((parts) => {
    const rings = [];
    let box = [Infinity, Infinity, -Infinity, -Infinity], best = null, bestLen = -1;
    for (const flat of parts) {
      const ring = new Float64Array(flat.length);
      let lon = 0, lat = 0;
      for (let i = 0; i < flat.length; i += 2) {
        lon += flat[i]; lat += flat[i + 1];
        const x = mercX(lon / 1e4), y = mercY(lat / 1e4);
        ring[i] = x; ring[i + 1] = y;
        if (x < box[0]) box[0] = x; if (y < box[1]) box[1] = y;
        if (x > box[2]) box[2] = x; if (y > box[3]) box[3] = y;
      }
      rings.push(ring);
      if (ring.length > bestLen) { best = ring; bestLen = ring.length; }
    }
    let cx = 0, cy = 0;
    for (let i = 0; i < best.length; i += 2) { cx += best[i]; cy += best[i + 1]; }
    return { rings, box, centre: [cx / (best.length / 2), cy / (best.length / 2)] };
  });
  const all = areas.reduce((b, a) => [Math.min(b[0], a.box[0]), Math.min(b[1], a.box[1]),
    Math.max(b[2], a.box[2]), Math.max(b[3], a.box[3])], [Infinity, Infinity, -Infinity, -Infinity]);
  const origin = [(all[0] + all[2]) / 2, (all[1] + all[3]) / 2];
  const every = new Path2D();
  for (const a of areas) {
    a.path = new Path2D();
    for (const ring of a.rings) {
      a.path.moveTo(ring[0] - origin[0], ring[1] - origin[1]);
      for (let i = 2; i < ring.length; i += 2) a.path.lineTo(ring[i] - origin[0], ring[i + 1] - origin[1]);
      a.path.closePath();
    }
    every.addPath(a.path);
  }
  return { codes: payload.codes, names: payload.names, areas, origin, every, box: all,
           index: new Map(payload.codes.map((c, i) => [c, i])) };
}

// Even-odd point-in-polygon over every ring of an area (holes and separate parts included).
function contains(area, x, y) {
  const b = area.box;
  if (x < b[0] || x > b[2] || y < b[1] || y > b[3]) return false;
  let inside = false;
  for (const r of area.rings) {
    for (let i = 0, j = r.length - 2; i < r.length; j = i, i += 2) {
      const yi = r[i + 1], yj = r[j + 1];
      if ((yi > y) !== (yj > y) && x < (r[j] - r[i]) * (y - yi) / (yj - yi) + r[i]) inside = !inside;
    }
  }
  return inside;
}

function fitBox(box, width, height, padding) {
  const [x0, y0, x1, y1] = box;
  const usable = 1 - 2 * padding;
  const z = Math.min(Math.log2(width * usable / Math.max(x1 - x0, 1e-9)),
                     Math.log2(height * usable / Math.max(y1 - y0, 1e-9))) + 10;
  return { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, zoom: Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, z)) };
}

function lonLatBox(b) { return [mercX(b[0]), mercY(b[3]), mercX(b[2]), mercY(b[1])]; }

function el(tag, cls, parent) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (parent) parent.appendChild(e);
  return e;
}

class AreaMap {
  constructor(root, trigger) {
    this.trigger = trigger;
    this.wrap = el("div", "map", null);
    this.wrap.tabIndex = 0;
    this.wrap.setAttribute("role", "application");
    this.canvas = el("canvas", null, this.wrap);
    this.canvas.setAttribute("aria-hidden", "true");
    this.tip = el("div", "tip", this.wrap);
    this.tip.setAttribute("aria-hidden", "true");
    this.status = el("div", "status", this.wrap);
    this.live = el("div", "sr-only", this.wrap);
    this.live.setAttribute("aria-live", "polite");
    root.appendChild(this.wrap);
    this.ctx = this.canvas.getContext("2d");
    this.cam = null; this.userMoved = false; this.hover = -1; this.cursor = -1;
    this.listen();
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(this.wrap);
  }

  update(data) {
    this.data = data;
    for (const [key, payload] of Object.entries(data.shapes || {})) {
      if (!SHAPES.has(key)) SHAPES.set(key, decode(payload));
    }
    this.areas = SHAPES.get(data.areas) || null;
    this.outlines = data.outlines ? SHAPES.get(data.outlines) || null : null;
    const missing = [data.areas, data.outlines].filter((k) => k && !SHAPES.has(k));
    this.wrap.style.height = `${data.height}px`;
    this.wrap.classList.toggle("large", !!data.large);
    this.wrap.setAttribute("aria-label", data.label);
    if (missing.length) {  // the session thinks they were sent, this page has lost them: ask again
      this.status.textContent = "Loading the map…";
      this.trigger("need", missing[0]);  // once per update: each answer is a new update
      return;
    }
    this.status.textContent = "";
    const view = JSON.stringify(data.view || null);
    if (view !== this.viewKey) { this.viewKey = view; this.userMoved = false; this.cam = null; }
    if (data.areas !== this.areasKey) {
      this.areasKey = data.areas; this.hover = -1; this.cursor = -1; this.showTip(-1);
    }
    this.resize();
    if (this.tipAt && this.tip.style.display === "block") this.showTip(...this.tipAt);  // the new values
  }

  resize() {
    const w = this.wrap.clientWidth, h = this.wrap.clientHeight;
    if (!w || !h || !this.areas) return;
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr); this.canvas.height = Math.round(h * dpr);
      this.canvas.style.width = `${w}px`; this.canvas.style.height = `${h}px`;
    }
    if (!this.cam || !this.userMoved) {
      this.cam = this.data.view ? fitBox(lonLatBox(this.data.view), w, h, PADDING)
        : fitBox(this.areas.box, w, h, WHOLE_PADDING);
    }
    this.draw();
  }

  scale() { return 2 ** (this.cam.zoom - 10); }

  toWorld(px, py) {
    const s = this.scale();
    return [this.cam.cx + (px - this.wrap.clientWidth / 2) / s, this.cam.cy + (py - this.wrap.clientHeight / 2) / s];
  }

  toScreen(x, y) {
    const s = this.scale();
    return [(x - this.cam.cx) * s + this.wrap.clientWidth / 2, (y - this.cam.cy) * s + this.wrap.clientHeight / 2];
  }

  // Where a lon/lat is drawn (px from the map's top left), and the view: for tests and the benchmark.
  project(lon, lat) { return this.toScreen(mercX(lon), mercY(lat)); }

  view() {
    const y = 0.5 - this.cam.cy / WORLD;
    const lat = (2 * Math.atan(Math.exp(y * 2 * Math.PI)) - Math.PI / 2) * 180 / Math.PI;
    return { lon: this.cam.cx / WORLD * 360 - 180, lat, zoom: this.cam.zoom, drawn: this.drawn || 0,
             drawnAt: this.drawnAt };
  }

  draw() {
    const { ctx, areas, data } = this;
    if (!areas || !this.cam) return;
    const dpr = window.devicePixelRatio || 1, s = this.scale(), o = areas.origin;
    const w = this.wrap.clientWidth, h = this.wrap.clientHeight;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    const k = s * dpr;
    ctx.setTransform(k, 0, 0, k, (w / 2 - (this.cam.cx - o[0]) * s) * dpr, (h / 2 - (this.cam.cy - o[1]) * s) * dpr);
    ctx.lineJoin = "round";
    const line = (px) => px / s;
    ctx.globalAlpha = FILL_ALPHA;
    data.fill.forEach((c, i) => {
      if (c < 0) return;
      ctx.fillStyle = data.palette[c];
      ctx.fill(areas.areas[i].path);
    });
    ctx.globalAlpha = 1;
    ctx.strokeStyle = "#ffffff"; ctx.lineWidth = line(0.5); ctx.stroke(areas.every);
    const big = data.large ? 1.5 : 1;
    const stroke = (idx, colour, px, shapes = areas) => {
      ctx.strokeStyle = colour; ctx.lineWidth = line(px * big);
      for (const i of idx) if (i >= 0) ctx.stroke(shapes.areas[i].path);
    };
    const ln = data.lines;  // colours and widths from ui/style.py (ui.map_payload.LINES)
    stroke(data.ring, ln.flag_under, ln.flag_under_px);
    if (this.outlines) {
      const p = this.outlines.origin;  // outline paths have their own origin
      ctx.save();
      ctx.translate(p[0] - o[0], p[1] - o[1]);
      ctx.strokeStyle = ln.borough; ctx.lineWidth = line(1.5); ctx.stroke(this.outlines.every);
      if (data.focus >= 0) stroke([data.focus], ln.flag_under, 4, this.outlines);
      ctx.restore();
    }
    stroke(data.ring, ln.flag_over, ln.flag_over_px);
    stroke([data.selected], ln.selected, 4);
    if (data.points) this.drawPoints();
    for (const i of new Set([this.hover, this.cursor])) {
      if (i < 0) continue;
      ctx.fillStyle = "rgba(255,0,255,0.63)"; ctx.fill(areas.areas[i].path);
    }
    if (this.cursor >= 0 && this.focused) {
      stroke([this.cursor], "#000000", 3);
    }
    this.drawn = (this.drawn || 0) + 1;
    this.drawnAt = performance.now();
  }

  drawPoints() {
    const { ctx, areas } = this, pts = this.data.points, o = areas.origin;
    const lat = 51.5 * Math.PI / 180;
    const r = pts.radius_m / (EARTH_M * Math.cos(lat) / WORLD);
    ctx.globalAlpha = 0.8;
    for (let i = 0; i < pts.lon.length; i++) {
      ctx.fillStyle = pts.palette[pts.fill[i]];
      ctx.beginPath();
      ctx.arc(mercX(pts.lon[i]) - o[0], mercY(pts.lat[i]) - o[1], r, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.globalAlpha = 1;
  }

  at(px, py) {
    const [x, y] = this.toWorld(px, py);
    const list = this.areas.areas;
    for (let i = list.length - 1; i >= 0; i--) if (contains(list[i], x, y)) return i;
    return -1;
  }

  tipLines(i) {
    const t = this.data.tips;
    const row = t.areas[i] || [];
    if (!row.length) return [];
    return t.layouts[row[0]].map((label, j) => [label, t.values[row[j + 1]]]);
  }

  showTip(i, px, py) {
    const tip = this.tip;
    if (i < 0) { tip.style.display = "none"; this.tipAt = null; return; }
    this.tipAt = [i, px, py];
    tip.replaceChildren();
    el("b", null, tip).textContent = this.areas.names[i];
    for (const [label, value] of this.tipLines(i)) el("div", null, tip).textContent = `${label}: ${value}`;
    tip.style.display = "block";
    const w = this.wrap.clientWidth, h = this.wrap.clientHeight;
    const left = px + 14 + tip.offsetWidth > w ? Math.max(0, px - 14 - tip.offsetWidth) : px + 14;
    const top = py + 14 + tip.offsetHeight > h ? Math.max(0, py - 14 - tip.offsetHeight) : py + 14;
    tip.style.left = `${left}px`; tip.style.top = `${top}px`;
  }

  announce(i) {
    if (i < 0) return;
    const lines = this.tipLines(i).map(([l, v]) => `${l}: ${v}`);
    this.live.textContent = [this.areas.names[i], ...lines].join(". ");
  }

  open(i) {
    if (i >= 0) this.trigger("click", this.areas.codes[i]);
  }

  // Arrow keys: the nearest area whose centre lies within 60 degrees of the arrow's direction.
  step(dx, dy) {
    const list = this.areas.areas;
    if (this.cursor < 0) return this.startCursor();
    const [x0, y0] = list[this.cursor].centre;
    let best = -1, bestScore = Infinity;
    list.forEach((a, i) => {
      if (i === this.cursor || this.data.fill[i] < 0) return;
      const vx = a.centre[0] - x0, vy = a.centre[1] - y0, d = Math.hypot(vx, vy);
      const along = (vx * dx + vy * dy) / (d || 1);
      if (along < 0.5) return;
      const score = d * (2 - along);
      if (score < bestScore) { bestScore = score; best = i; }
    });
    if (best >= 0) this.moveCursor(best);
  }

  startCursor() {
    const sel = this.data.selected;
    if (sel >= 0) return this.moveCursor(sel);
    const [cx, cy] = [this.cam.cx, this.cam.cy];
    let best = 0, bestD = Infinity;
    this.areas.areas.forEach((a, i) => {
      const d = Math.hypot(a.centre[0] - cx, a.centre[1] - cy);
      if (d < bestD && this.data.fill[i] >= 0) { bestD = d; best = i; }
    });
    this.moveCursor(best);
  }

  moveCursor(i) {
    this.cursor = i;
    const [px, py] = this.toScreen(...this.areas.areas[i].centre);
    const w = this.wrap.clientWidth, h = this.wrap.clientHeight;
    if (px < 0 || py < 0 || px > w || py > h) {  // keep the chosen area in view
      this.cam = { ...this.cam, cx: this.areas.areas[i].centre[0], cy: this.areas.areas[i].centre[1] };
      this.userMoved = true;
    }
    this.draw();
    this.showTip(i, ...this.toScreen(...this.areas.areas[i].centre));
    this.announce(i);
  }

  zoomAt(px, py, factor) {
    const [x, y] = this.toWorld(px, py);
    const zoom = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, this.cam.zoom + Math.log2(factor)));
    const s = 2 ** (zoom - 10);
    this.cam = { zoom, cx: x - (px - this.wrap.clientWidth / 2) / s, cy: y - (py - this.wrap.clientHeight / 2) / s };
    this.userMoved = true;
    this.draw();
  }

  listen() {
    const c = this.wrap, local = (e) => {
      const r = c.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    };
    let down = null, frame = 0;
    const on = (type, fn, opts) => c.addEventListener(type, fn, opts);
    on("pointerdown", (e) => {
      if (!this.areas) return;
      down = { p: local(e), cam: this.cam, moved: false };
      c.setPointerCapture?.(e.pointerId);
    });
    on("pointermove", (e) => {
      if (!this.areas || !this.cam) return;
      const [px, py] = local(e);
      if (down) {
        const dx = px - down.p[0], dy = py - down.p[1];
        if (down.moved || Math.hypot(dx, dy) > 4) {
          down.moved = true;
          const s = this.scale();
          this.cam = { ...down.cam, cx: down.cam.cx - dx / s, cy: down.cam.cy - dy / s };
          this.userMoved = true;
        }
      }
      const i = down && down.moved ? -1 : this.at(px, py);
      this.hover = i;
      this.showTip(i, px, py);
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => this.draw());
    });
    on("pointerup", (e) => {
      if (!down) return;
      const wasDrag = down.moved;
      down = null;
      if (!wasDrag) {
        const i = this.at(...local(e));
        if (i >= 0 && this.data.fill[i] >= 0) this.open(i);
      }
    });
    on("pointerleave", () => { this.hover = -1; this.showTip(-1); this.draw(); });
    on("wheel", (e) => {
      if (!this.areas) return;
      e.preventDefault();
      this.zoomAt(...local(e), e.deltaY < 0 ? 1.25 : 0.8);
    }, { passive: false });
    on("focus", () => {
      this.focused = true;
      if (!this.areas) return;
      if (this.cursor < 0) this.startCursor(); else this.moveCursor(this.cursor);
    });
    on("blur", () => { this.focused = false; this.showTip(-1); this.draw(); });
    on("keydown", (e) => {
      if (!this.areas) return;
      const arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
      if (arrows[e.key]) { e.preventDefault(); this.step(...arrows[e.key]); }
      else if (e.key === "Enter" || e.key === " ") { e.preventDefault(); this.open(this.cursor); }
      else if (e.key === "+" || e.key === "=") this.zoomAt(c.clientWidth / 2, c.clientHeight / 2, 1.5);
      else if (e.key === "-") this.zoomAt(c.clientWidth / 2, c.clientHeight / 2, 1 / 1.5);
      else if (e.key === "0" || e.key === "Escape") { this.userMoved = false; this.resize(); }
    });
  }

  destroy() {
    this.resizer.disconnect();
    this.wrap.remove();
  }
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let map = INSTANCES.get(parentElement);
  if (!map) {
    map = new AreaMap(parentElement, setTriggerValue);
    INSTANCES.set(parentElement, map);
  }
  map.trigger = setTriggerValue;
  map.update(data);
  window.__lctAreaMaps = window.__lctAreaMaps || new Set();  // for browser tests and the benchmark
  window.__lctAreaMaps.add(map);
  return () => {
    map.destroy();
    INSTANCES.delete(parentElement);
    window.__lctAreaMaps.delete(map);
  };
}
