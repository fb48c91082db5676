import { BarChart } from '../section';

const WIDTH = 800;
const LABEL_WIDTH = 230;
const VALUE_WIDTH = 110;
const PLOT_WIDTH = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
const TOP = 48;
const BAR_HEIGHT = 16;
const BAR_GAP = 6;
const GROUP_HEADER = 22;
const GROUP_GAP = 10;
const AXIS_HEIGHT = 40;
const TICKS = 5;
/** Colour-blind-safe (Okabe–Ito). */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

/**
 * A horizontal bar chart as a standalone SVG document: one row per bar,
 * grouped, the bar's length the median and a whisker from min to max. The
 * same series has the same colour in every group. Deterministic for the same
 * data, so regenerated charts only change when the numbers do.
 */
export function renderBarChart(chart: BarChart): string {
  if (chart.bars.length === 0) throw new Error(`chart ${chart.id} has no bars`);
  for (const bar of chart.bars) {
    if (![bar.median, bar.min, bar.max].every(Number.isFinite) || bar.min < 0 || bar.min > bar.median || bar.median > bar.max) {
      throw new Error(`chart ${chart.id}: bar ${bar.group} / ${bar.series} needs 0 <= min <= median <= max, got ${bar.min}, ${bar.median}, ${bar.max}`);
    }
  }
  const series = [...new Set(chart.bars.map(bar => bar.series))];
  const groups = [...new Set(chart.bars.map(bar => bar.group))];
  const axisMax = niceCeiling(Math.max(...chart.bars.map(bar => bar.max)));
  const x = (value: number) => LABEL_WIDTH + (value / axisMax) * PLOT_WIDTH;

  const rows: string[] = [];
  let y = TOP;
  for (const group of groups) {
    rows.push(text(8, y + 15, group, 'font-weight="bold"'));
    y += GROUP_HEADER;
    for (const bar of chart.bars.filter(b => b.group === group)) {
      const colour = PALETTE[series.indexOf(bar.series) % PALETTE.length];
      const middle = y + BAR_HEIGHT / 2;
      rows.push(
        text(20, middle + 4, bar.series),
        `<rect x="${LABEL_WIDTH}" y="${y}" width="${round(x(bar.median) - LABEL_WIDTH)}" height="${BAR_HEIGHT}" fill="${colour}"><title>${escape(`${bar.group}, ${bar.series}: median ${format(bar.median)} ${chart.unit}, min ${format(bar.min)}, max ${format(bar.max)}`)}</title></rect>`,
        whisker(x(bar.min), x(bar.max), middle),
        text(round(x(bar.max) + 6), middle + 4, `${format(bar.median)} ${chart.unit}`),
      );
      y += BAR_HEIGHT + BAR_GAP;
    }
    y += GROUP_GAP;
  }

  const plotBottom = y;
  const grid: string[] = [];
  for (let i = 0; i <= TICKS; i++) {
    const value = (axisMax * i) / TICKS;
    const tickX = round(x(value));
    grid.push(
      `<line x1="${tickX}" y1="${TOP - 6}" x2="${tickX}" y2="${plotBottom}" stroke="#dddddd"/>`,
      text(tickX, plotBottom + 16, format(value), 'text-anchor="middle"'),
    );
  }
  const height = plotBottom + AXIS_HEIGHT;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(8, 22, chart.title, 'font-size="15" font-weight="bold"'),
    text(8, 38, `bar: median; whisker: min to max; unit: ${chart.unit}`, 'fill="#555555"'),
    ...grid,
    ...rows,
    text(round(LABEL_WIDTH + PLOT_WIDTH / 2), plotBottom + 32, chart.unit, 'text-anchor="middle" fill="#555555"'),
    '</svg>',
    '',
  ].join('\n');
}

/** The smallest of 1, 2, 2.5 or 5 times a power of ten that is at least `value` (1 for 0). */
export function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find(multiple => multiple * power >= value)!;
  return step * power;
}

function whisker(from: number, to: number, y: number): string {
  const [a, b] = [round(from), round(to)];
  return `<path d="M${a} ${y}H${b}M${a} ${y - 4}V${y + 4}M${b} ${y - 4}V${y + 4}" stroke="#333333" stroke-width="1.2" fill="none"/>`;
}

function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${x}" y="${round(y)}"${attributes ? ` ${attributes}` : ''}>${escape(content)}</text>`;
}

/** Three significant digits at most, no exponent: 0.123, 12.3, 1234. */
function format(value: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) >= 100) return String(Math.round(value));
  return String(Number(value.toPrecision(3)));
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function escape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
