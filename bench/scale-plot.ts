/**
 * Hand-made SVG line charts for bench/scale.ts: one file per curve, side-by-side panels sharing a
 * logarithmic x axis, one line per series. No dependency; the output is a few kilobytes.
 */

export interface Series {
  name: string;
  values: readonly number[];
  /** Dashed line (baselines). */
  dashed?: boolean;
}

export interface Panel {
  yLabel: string;
  series: readonly Series[];
}

export interface Chart {
  title: string;
  xLabel: string;
  xs: readonly number[];
  xTicks: readonly string[];
  panels: readonly Panel[];
}

const PANEL_W = 360;
const PANEL_H = 240;
const MARGIN = { left: 64, right: 16, top: 44, bottom: 52 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round step for about five ticks from 0 to `max`. */
function niceStep(max: number): number {
  const raw = max / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}

const format = (v: number): string => (v === 0 ? '0' : v >= 10_000 ? `${v / 1000}k` : v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2));

function panel(chart: Chart, p: Panel, index: number): string {
  const x0 = index * (PANEL_W + MARGIN.left + MARGIN.right) + MARGIN.left;
  const y0 = MARGIN.top;
  const logs = chart.xs.map((x) => Math.log10(Math.max(x, 1e-9)));
  const lo = Math.min(...logs);
  const hi = Math.max(...logs);
  const px = (i: number): number => x0 + (hi === lo ? PANEL_W / 2 : ((logs[i]! - lo) / (hi - lo)) * PANEL_W);
  const max = Math.max(1e-9, ...p.series.flatMap((s) => s.values.filter(Number.isFinite)));
  const step = niceStep(max * 1.1);
  const top = Math.ceil((max * 1.1) / step) * step;
  const py = (v: number): number => y0 + PANEL_H - (v / top) * PANEL_H;
  const out: string[] = [];
  out.push(`<rect x="${x0}" y="${y0}" width="${PANEL_W}" height="${PANEL_H}" fill="none" stroke="#999"/>`);
  for (let v = 0; v <= top + step / 2; v += step) {
    const y = py(v).toFixed(1);
    out.push(`<line x1="${x0}" x2="${x0 + PANEL_W}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${x0 - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${format(v)}</text>`);
  }
  chart.xs.forEach((_, i) => {
    out.push(`<text x="${px(i).toFixed(1)}" y="${y0 + PANEL_H + 16}" text-anchor="middle">${escape(chart.xTicks[i] ?? '')}</text>`);
  });
  out.push(`<text x="${x0 + PANEL_W / 2}" y="${y0 + PANEL_H + 36}" text-anchor="middle">${escape(chart.xLabel)}</text>`);
  out.push(`<text x="${x0 - 48}" y="${y0 + PANEL_H / 2}" text-anchor="middle" transform="rotate(-90 ${x0 - 48} ${y0 + PANEL_H / 2})">${escape(p.yLabel)}</text>`);
  p.series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length]!;
    const points = s.values.map((v, i) => (Number.isFinite(v) ? `${px(i).toFixed(1)},${py(v).toFixed(1)}` : null)).filter((v) => v !== null);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${s.dashed === true ? ' stroke-dasharray="6 4"' : ''} points="${points.join(' ')}"/>`);
    for (const point of points) {
      const [cx, cy] = point.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`);
    }
    const ly = y0 - 8 - (p.series.length - 1 - k) * 14;
    out.push(`<line x1="${x0 + 4}" x2="${x0 + 24}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed === true ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${x0 + 28}" y="${ly}" dominant-baseline="middle">${escape(s.name)}</text>`);
  });
  return out.join('\n');
}

/** The chart as a standalone SVG document. */
export function renderChart(chart: Chart): string {
  const width = chart.panels.length * (PANEL_W + MARGIN.left + MARGIN.right);
  const legend = Math.max(0, ...chart.panels.map((p) => p.series.length - 1)) * 14;
  const height = MARGIN.top + legend + PANEL_H + MARGIN.bottom + 20;
  const body = chart.panels.map((p, i) => panel(chart, p, i)).join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escape(chart.title)}</text>`,
    `<g transform="translate(0 ${legend + 8})">`,
    body,
    `</g>`,
    `</svg>`,
    '',
  ].join('\n');
}
