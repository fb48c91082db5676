import { AcknowledgedFinding, Acknowledgement, covers } from './assembly';
import { code, lines, tableOrNone, text } from './markdown';
import { compare, unique } from './template';

/** cdk-nag's rule for IAM wildcards; a finding is acknowledged by this id alone or by `id[finding]`. */
const WILDCARD_RULE = 'AwsSolutions-IAM5';

/** Acknowledged findings with the same reason and the same rules, merged into one row with every resource they cover. */
export interface AcknowledgementGroup {
  readonly rules: readonly string[];
  readonly reason: string;
  readonly resources: readonly string[];
  /** The wildcards (`Resource::*`, or the whole rule when it is not granular) among the rules. */
  readonly wildcards: readonly string[];
}

export function groupAcknowledgements(findings: readonly AcknowledgedFinding[]): AcknowledgementGroup[] {
  const rulesByResource = new Map<string, { reason: string; resource: string; rules: Set<string> }>();
  for (const finding of findings) {
    for (const resource of finding.resources.map(trimResource)) {
      const key = JSON.stringify([finding.reason, resource]);
      const entry = rulesByResource.get(key) ?? { reason: finding.reason, resource, rules: new Set<string>() };
      entry.rules.add(finding.rule);
      rulesByResource.set(key, entry);
    }
  }
  const groups = new Map<string, { rules: string[]; reason: string; resources: string[] }>();
  for (const { reason, resource, rules } of rulesByResource.values()) {
    const sortedRules = unique(rules);
    const key = JSON.stringify([reason, sortedRules]);
    const group = groups.get(key) ?? { rules: sortedRules, reason, resources: [] };
    group.resources.push(resource);
    groups.set(key, group);
  }
  return [...groups.values()]
    .map(group => ({ ...group, resources: unique(group.resources), wildcards: unique(group.rules.flatMap(wildcardOf)) }))
    .sort((a, b) => compare(a.rules.join(), b.rules.join()) || compare(a.reason, b.reason));
}

/** `Resource::*` for `AwsSolutions-IAM5[Resource::*]`, the rule itself when it is IAM5 without a finding, nothing for other rules. */
export function wildcardOf(rule: string): string[] {
  const match = /(?:^|[:-])IAM5(?:\[(.*)\])?$/.exec(rule);
  return match ? [match[1] ?? rule] : [];
}

function trimResource(constructPath: string): string {
  return constructPath.replace(/\/Resource$/, '');
}

export function renderAcknowledgements(findings: readonly AcknowledgedFinding[], validated: boolean): string {
  const groups = groupAcknowledgements(findings);
  // One finding per rule and resource, as the summary counts them.
  const count = findings.reduce((sum, finding) => sum + finding.resources.length, 0);
  const source = validated
    ? `${count} finding(s) of the validation plugins acknowledged, in ${groups.length} group(s) of the same reason and rules (from validation-report.json).`
    : `No validation report in the assembly: the acknowledgements recorded in the metadata are listed, whether a plugin needed them or not (${groups.length} group(s)).`;
  return [
    source,
    tableOrNone(['Rules', 'Reason', 'Resources', 'Wildcard'],
      groups.map(group => [lines(group.rules), text(group.reason), lines(group.resources), group.wildcards.length ? `**wildcard**: ${group.wildcards.map(code).join(', ')}` : '—']),
      'No acknowledgements.'),
  ].join('\n\n');
}

/**
 * The reason that acknowledges one wildcard finding (cdk-nag's granular id,
 * e.g. `Resource::arn:<AWS::Partition>:logs:*`) on a construct or one of its
 * ancestors; a granular acknowledgement wins over a rule-wide one.
 */
export function wildcardReason(acknowledgements: readonly Acknowledgement[], constructPath: string, finding: string): string | undefined {
  const applicable = acknowledgements.filter(ack => covers(ack.constructPath, constructPath));
  const ruleOf = (ack: Acknowledgement): string => ack.ruleId.replace(/^[^:[]+::/, '');
  return (applicable.find(ack => ruleOf(ack) === `${WILDCARD_RULE}[${finding}]`) ?? applicable.find(ack => ruleOf(ack) === WILDCARD_RULE))?.reason;
}
