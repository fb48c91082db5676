import { code, lines, table, text } from './markdown';
import { compare, StackTemplate } from './template';

export interface ResourceTypeCount {
  readonly type: string;
  readonly paths: readonly string[];
}

/** Resources grouped by CloudFormation type, types and paths sorted. */
export function resourcesByType(template: StackTemplate): ResourceTypeCount[] {
  const byType = new Map<string, string[]>();
  for (const [id, resource] of template.resources) {
    byType.set(resource.Type, [...(byType.get(resource.Type) ?? []), template.pathOf(id)]);
  }
  return [...byType].map(([type, paths]) => ({ type, paths: [...paths].sort(compare) })).sort((a, b) => compare(a.type, b.type));
}

export function renderResources(template: StackTemplate): string {
  return table(['Type', 'Count', 'Construct paths'],
    resourcesByType(template).map(({ type, paths }) => [code(type), text(String(paths.length)), lines(paths)]));
}
