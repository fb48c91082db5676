/** Prose in a table cell: Markdown and HTML characters escaped, so a reason or description reads exactly as written. */
export function text(value: string): string {
  return value.replace(/[\\`*_[\]<>|]/g, character => `\\${character}`).replace(/\r?\n/g, '<br>');
}

/** A name, ARN, action or path as inline code; `|` is escaped because GitHub splits table cells on it even inside code. */
export function code(value: string): string {
  const fence = value.includes('`') ? '``' : '`';
  const padding = fence.length > 1 ? ' ' : '';
  return `${fence}${padding}${value.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')}${padding}${fence}`;
}

/** Several values in one cell, one a line. */
export function lines(values: readonly string[], format: (value: string) => string = code): string {
  return values.length ? values.map(format).join('<br>') : '—';
}

/** A Markdown table; cells must already be formatted with `text`, `code` or `lines`. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A table, or a sentence saying there is nothing to list. */
export function tableOrNone(header: readonly string[], rows: readonly (readonly string[])[], none: string): string {
  return rows.length ? table(header, rows) : `_${none}_`;
}

export function usd(amount: number): string {
  return `$${amount.toFixed(2)}`;
}
