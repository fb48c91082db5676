/**
 * What each benchmark part returns: tables and charts the report renders,
 * headline sentences for the summary, and the raw measurements, which are
 * kept in bench/results/results.json next to the report.
 */

/** The median, smallest and largest of a set of measurements. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** How many measurements. */
  readonly count: number;
}

export interface Table {
  /** One sentence above the table, saying what was measured and how. */
  readonly caption: string;
  readonly headers: readonly string[];
  /** Cells already formatted for Markdown (numbers with units). */
  readonly rows: ReadonlyArray<readonly string[]>;
}

/** One bar: a median with a whisker from min to max (leave min and max equal for a single value). */
export interface Bar {
  /** Row label, e.g. 'reference-api'. */
  readonly group: string;
  /** Variant within the group, e.g. 'DatabaseFunction'. The same series gets the same colour across groups. */
  readonly series: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** A horizontal bar chart, rendered to SVG from the data. */
export interface BarChart {
  /** File name without extension, unique within the report, e.g. 'cold-start-init'. */
  readonly id: string;
  readonly title: string;
  /** Unit of the values, shown on the axis, e.g. 'ms', 'KB', 'invocations/s'. */
  readonly unit: string;
  readonly bars: readonly Bar[];
}

export interface Section {
  /** Anchor and key in results.json, e.g. 'cold-start'. */
  readonly id: string;
  readonly title: string;
  /** Markdown paragraphs before the tables: setup, method, what the variants are. */
  readonly method: string;
  readonly tables: readonly Table[];
  readonly charts: readonly BarChart[];
  /** Sentences with the main ratios, printed at the end of the run and listed at the top of the report. */
  readonly headlines: readonly string[];
  /** Markdown notes after the tables: caveats and how the numbers compare with Lambda. */
  readonly notes?: string;
  /** The measurements behind the tables, as plain JSON. */
  readonly raw: unknown;
}
