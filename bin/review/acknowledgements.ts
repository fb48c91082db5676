import { Acknowledgement, covers } from './assembly';
import { code, tableOrNone, text } from './markdown';

/** cdk-nag's rule for IAM wildcards; a finding is acknowledged by this id alone or by `id[finding]`. */
const WILDCARD_RULE = 'AwsSolutions-IAM5';

export function renderAcknowledgements(acknowledgements: readonly Acknowledgement[]): string {
  return tableOrNone(['Rule id', 'Construct path', 'Reason'],
    acknowledgements.map(ack => [code(ack.ruleId), code(ack.constructPath), text(ack.reason)]),
    'No acknowledgements.');
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
