import { NagMessageLevel } from 'cdk-nag';
import { RuleDefinition } from '../private/rule-pack';
import { reservationsBelowProvisioned, ReservedConcurrencyCoversProvisioned } from './ReservedConcurrencyCoversProvisioned';

/**
 * The rules of `DeployReadinessChecks`, one file each in this folder. Each
 * catches a template that synthesizes cleanly but fails or misbehaves when
 * CloudFormation and the services run it.
 */
export const DEPLOY_READINESS_RULES: RuleDefinition[] = [
  {
    rule: ReservedConcurrencyCoversProvisioned,
    info: 'The Lambda function can reserve less concurrency than its aliases and versions can provision',
    explanation: 'Lambda refuses a reserved concurrency below the provisioned concurrency configured on the function\'s versions and aliases '
      + '(and provisioned concurrency above the reservation). A lower reservation fails the deploy; one that a condition can lower (a kill switch '
      + 'through Fn::If) fails the update that lowers it, because CloudFormation updates the function before the aliases and versions that depend on '
      + 'it, while they still hold their provisioned concurrency. Reserve at least the highest provisioned concurrency (auto scaling\'s maximum and '
      + 'scheduled actions included), or let one custom resource set both, releasing one before lowering the other (DatabaseFunction does).',
    level: NagMessageLevel.ERROR,
    details: reservationsBelowProvisioned,
  },
];
