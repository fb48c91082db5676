/**
 * The benchmark's statistics and report rendering (bench/stats.ts,
 * bench/report/): pure functions, checked against values worked out by hand.
 */
import { renderReport, renderTable, Results } from '../bench/report/markdown';
import { niceCeiling, renderBarChart } from '../bench/report/svg';
import { BarChart, Section } from '../bench/section';
import { alternate, formatRatio, formatSpread, percentile, spread } from '../bench/stats';

describe('statistics', () => {
  test('percentile interpolates linearly between the closest ranks', () => {
    const values = [10, 20, 30, 40];
    expect(percentile(values, 0)).toBe(10);
    expect(percentile(values, 50)).toBe(25);
    expect(percentile(values, 100)).toBe(40);
    // rank 0.95 * 3 = 2.85: 30 + 0.85 * 10
    expect(percentile(values, 95)).toBeCloseTo(38.5, 10);
    expect(percentile([7], 99)).toBe(7);
  });

  test('percentile sorts unsorted input without changing it', () => {
    const values = [40, 10, 30, 20];
    expect(percentile(values, 50)).toBe(25);
    expect(values).toEqual([40, 10, 30, 20]);
  });

  test('percentile refuses empty input and percentiles outside 0 to 100', () => {
    expect(() => percentile([], 50)).toThrow('at least one value');
    expect(() => percentile([1], 101)).toThrow('from 0 to 100, not 101');
    expect(() => percentile([1], Number.NaN)).toThrow('from 0 to 100');
  });

  test('spread gives the median (mean of the middle two for an even count), min, max and count', () => {
    expect(spread([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, count: 3 });
    expect(spread([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4, count: 4 });
    expect(() => spread([])).toThrow('at least one value');
  });

  test('alternate rotates which variant runs first in each round and keeps each variant\'s results in round order', async () => {
    const calls: string[] = [];
    const results = await alternate(['a', 'b', 'c'], 3, async (variant, round) => {
      calls.push(`${variant}${round}`);
      return `${variant}-result-${round}`;
    });
    expect(calls).toEqual(['a0', 'b0', 'c0', 'b1', 'c1', 'a1', 'c2', 'a2', 'b2']);
    expect(results).toEqual({
      a: ['a-result-0', 'a-result-1', 'a-result-2'],
      b: ['b-result-0', 'b-result-1', 'b-result-2'],
      c: ['c-result-0', 'c-result-1', 'c-result-2'],
    });
  });

  test('formatting: a spread with unit and range, a ratio with at least three significant digits', () => {
    expect(formatSpread({ median: 12.345, min: 11.9, max: 14, count: 3 }, 'ms')).toBe('12.3 ms (11.9–14.0)');
    expect(formatSpread({ median: 512.4, min: 505.7, max: 520, count: 3 }, 'MB', 0)).toBe('512 MB (506–520)');
    expect(formatRatio(1.6666)).toBe('1.67×');
    expect(formatRatio(27.318)).toBe('27.3×');
    expect(formatRatio(14138.54)).toBe('14,139×');
  });
});

describe('SVG bar chart', () => {
  const chart: BarChart = {
    id: 'example',
    title: 'Init <time> & more',
    unit: 'ms',
    bars: [
      { group: 'api', series: 'ours', median: 40, min: 30, max: 50 },
      { group: 'api', series: 'theirs', median: 80, min: 70, max: 90 },
      { group: 'worker', series: 'ours', median: 20, min: 20, max: 20 },
    ],
  };

  test('draws one bar per data point, its length proportional to the median on a 0-to-nice-maximum axis', () => {
    const svg = renderBarChart(chart);
    const widths = [...svg.matchAll(/<rect x="230" y="[\d.]+" width="([\d.]+)"/g)].map(match => Number(match[1]));
    // axis 0..100 (nice ceiling of 90) over 460 px
    expect(widths).toEqual([184, 368, 92]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });

  test('gives a series the same colour in every group and escapes text', () => {
    const svg = renderBarChart(chart);
    const fills = [...svg.matchAll(/width="[\d.]+" height="16" fill="(#[0-9A-F]+)"/g)].map(match => match[1]);
    expect(fills[0]).toBe(fills[2]);
    expect(fills[0]).not.toBe(fills[1]);
    expect(svg).toContain('Init &lt;time&gt; &amp; more');
    expect(svg).not.toContain('<time>');
  });

  test('draws a whisker from min to max for every bar', () => {
    const svg = renderBarChart(chart);
    // min 70 -> 230 + 0.7 * 460 = 552; max 90 -> 644
    expect(svg).toContain('M552 ');
    expect(svg).toContain('H644');
    expect(svg.match(/<path /g)).toHaveLength(3);
  });

  test('is the same text for the same data', () => {
    expect(renderBarChart(chart)).toBe(renderBarChart(JSON.parse(JSON.stringify(chart))));
  });

  test('refuses an empty chart and bars whose min, median and max are out of order', () => {
    expect(() => renderBarChart({ ...chart, bars: [] })).toThrow('chart example has no bars');
    expect(() => renderBarChart({ ...chart, bars: [{ group: 'g', series: 's', median: 5, min: 6, max: 7 }] }))
      .toThrow('bar g / s needs 0 <= min <= median <= max, got 6, 5, 7');
  });

  test('niceCeiling rounds up to 1, 2, 2.5 or 5 times a power of ten', () => {
    expect(niceCeiling(90)).toBe(100);
    expect(niceCeiling(14.04)).toBe(20);
    expect(niceCeiling(2.1)).toBe(2.5);
    expect(niceCeiling(0.3)).toBeCloseTo(0.5, 10);
    expect(niceCeiling(1000)).toBe(1000);
    expect(niceCeiling(0)).toBe(1);
  });
});

describe('Markdown report', () => {
  const section = (id: string, title: string): Section => ({
    id,
    title,
    method: `How ${id} was measured.`,
    tables: [{ caption: `${title} table.`, headers: ['Variant', 'Time'], rows: [['a | b', '1 ms']] }],
    charts: [{ id: `${id}-chart`, title: `${title} chart`, unit: 'ms', bars: [{ group: 'g', series: 's', median: 1, min: 1, max: 1 }] }],
    headlines: [`${title} headline.`],
    notes: `${title} notes.`,
    raw: {},
  });
  const machine = { cpu: 'Example CPU', cores: 2, arch: 'x64', memoryGiB: 24, os: 'Debian GNU/Linux 12 (bookworm)', node: 'v20.20.2' };
  const results: Results = {
    sections: [
      { measuredAt: '2026-11-21 10:00 UTC', commit: 'abc1234', machine, section: section('synth', 'Synth and test') },
      { measuredAt: '2026-11-21 09:00 UTC', commit: 'abc1234', machine, section: section('cold-start', 'Cold start') },
    ],
  };

  test('puts the sections in report order, the headlines first, and links each chart', () => {
    const report = renderReport(results, id => `bench/results/${id}.svg`);
    expect(report.indexOf('## Cold start')).toBeLessThan(report.indexOf('## Synth and test'));
    expect(report.indexOf('## Summary')).toBeLessThan(report.indexOf('## Cold start'));
    expect(report).toContain('- Cold start headline.\n- Synth and test headline.');
    expect(report).toContain('![Cold start chart](bench/results/cold-start-chart.svg)');
    expect(report).toContain('| Cold start | 2026-11-21 09:00 UTC | abc1234 | Example CPU, 2 cores, 24 GiB, Debian GNU/Linux 12 (bookworm) | v20.20.2 |');
  });

  test('renders tables with escaped pipes and refuses rows of the wrong width', () => {
    expect(renderTable({ caption: 'C.', headers: ['A', 'B'], rows: [['a | b', '1']] })).toEqual(['C.', '', '| A | B |', '| --- | --- |', '| a \\| b | 1 |']);
    expect(() => renderTable({ caption: 'C.', headers: ['A', 'B'], rows: [['only one']] })).toThrow('has 2 columns but a row with 1');
  });
});
