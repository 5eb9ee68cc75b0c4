// Small live charts for the admin dashboard: a rolling history per series and an SVG sparkline.

const SVG = 'http://www.w3.org/2000/svg';

/** Rolling histories of numbers, by key. Keys not pushed to for a while are dropped. */
export class History {
  /** @type {Map<string, {values: number[], seen: number}>} */
  #series = new Map();
  #tick = 0;

  /** @param {number} size how many points each series keeps */
  constructor(size) {
    this.size = size;
  }

  /**
   * @param {string} key
   * @param {number} value
   */
  push(key, value) {
    let s = this.#series.get(key);
    if (!s) {
      s = { values: [], seen: 0 };
      this.#series.set(key, s);
    }
    s.values.push(Number.isFinite(value) ? value : 0);
    if (s.values.length > this.size) s.values.shift();
    s.seen = ++this.#tick;
    if (this.#tick % 500 === 0) this.#sweep();
  }

  /**
   * @param {string} key
   * @returns {number[]}
   */
  get(key) {
    return this.#series.get(key)?.values ?? [];
  }

  #sweep() {
    for (const [k, s] of this.#series) if (this.#tick - s.seen > 2000) this.#series.delete(k);
  }
}

/**
 * Draws values as a line with a soft area under it, scaled to the largest value, into el (an
 * <svg> is created in it the first time).
 * @param {HTMLElement} el
 * @param {number[]} values
 * @param {{color?: string, width?: number, height?: number, points?: number}} [opts]
 */
export function sparkline(el, values, { color = 'currentColor', width = 160, height = 40, points = 60 } = {}) {
  let svg = /** @type {SVGSVGElement | null} */ (el.querySelector('svg'));
  if (!svg) {
    svg = document.createElementNS(SVG, 'svg');
    svg.classList.add('sparkline');
    svg.setAttribute('preserveAspectRatio', 'none');
    const area = document.createElementNS(SVG, 'polygon');
    area.setAttribute('fill', color);
    area.setAttribute('fill-opacity', '0.16');
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', color);
    line.setAttribute('stroke-width', '1.6');
    line.setAttribute('stroke-linejoin', 'round');
    line.setAttribute('vector-effect', 'non-scaling-stroke');
    svg.append(area, line);
    el.append(svg);
  }
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.style.width = '100%';
  svg.style.height = `${height}px`;
  const max = Math.max(...values, 1e-9);
  // Until the history fills the window, its points spread over the whole width.
  const step = width / Math.max(1, Math.min(points, values.length) - 1);
  const x0 = width - (values.length - 1) * step;
  const pts = values.map((v, i) => `${(x0 + i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`);
  const [area, line] = /** @type {[SVGPolygonElement, SVGPolylineElement]} */ ([...svg.children]);
  line.setAttribute('points', pts.join(' '));
  area.setAttribute('points', pts.length ? `${x0.toFixed(1)},${height} ${pts.join(' ')} ${width},${height}` : '');
}
