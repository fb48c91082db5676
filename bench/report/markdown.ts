import { Machine } from '../machine';
import { Section, Table } from '../section';

/** A section with the run it came from (a partial run replaces only its own sections). */
export interface MeasuredSection {
  readonly measuredAt: string;
  readonly commit: string;
  readonly machine: Machine;
  readonly section: Section;
}

/** What bench/results/results.json holds. */
export interface Results {
  readonly sections: readonly MeasuredSection[];
}

/** The order sections appear in, whatever order they ran in. */
export const SECTION_ORDER = ['cold-start', 'storm', 'synth'];

/**
 * BENCHMARKS.md: the summary, then each section's method, tables, charts
 * (`chartPath(id)` relative to the report) and notes.
 */
export function renderReport(results: Results, chartPath: (id: string) => string): string {
  const sections = [...results.sections].sort((a, b) => order(a.section.id) - order(b.section.id));
  const lines: string[] = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` from its own measurements (raw numbers in `bench/results/results.json`); do not edit by hand. '
    + 'Every comparison ran in one process run with its variants alternating; values are medians with (min–max) unless a column says otherwise. '
    + 'Benchmarks report, they never fail a build.',
    '',
    ...machineTable(sections),
    '',
    '## Summary',
    '',
    ...sections.flatMap(({ section }) => section.headlines.map(line => `- ${line}`)),
    '',
  ];
  for (const { section } of sections) {
    lines.push(`## ${section.title}`, '', section.method.trim(), '');
    for (const table of section.tables) lines.push(...renderTable(table), '');
    for (const chart of section.charts) lines.push(`![${chart.title}](${chartPath(chart.id)})`, '');
    if (section.notes?.trim()) lines.push(section.notes.trim(), '');
  }
  return lines.join('\n');
}

export function renderTable(table: Table): string[] {
  for (const row of table.rows) {
    if (row.length !== table.headers.length) {
      throw new Error(`table "${table.caption}" has ${table.headers.length} columns but a row with ${row.length}: ${row.join(' | ')}`);
    }
  }
  return [
    table.caption,
    '',
    `| ${table.headers.map(cell).join(' | ')} |`,
    `| ${table.headers.map(() => '---').join(' | ')} |`,
    ...table.rows.map(row => `| ${row.map(cell).join(' | ')} |`),
  ];
}

function machineTable(sections: readonly MeasuredSection[]): string[] {
  return [
    '| Section | Measured | Commit | Machine | Node.js |',
    '| --- | --- | --- | --- | --- |',
    ...sections.map(({ section, measuredAt, commit, machine }) => `| ${cell(section.title)} | ${measuredAt} | ${commit} | `
      + `${cell(`${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}`)} | ${machine.node} |`),
  ];
}

function order(id: string): number {
  const index = SECTION_ORDER.indexOf(id);
  return index < 0 ? SECTION_ORDER.length : index;
}

function cell(value: string): string {
  return value.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
