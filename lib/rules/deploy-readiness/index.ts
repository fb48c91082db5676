import { RuleDefinition } from '../private/rule-pack';

/**
 * The rules of `DeployReadinessChecks`, one file each in this folder. Each
 * catches a template that synthesizes cleanly but fails or misbehaves when
 * CloudFormation and the services run it.
 */
export const DEPLOY_READINESS_RULES: RuleDefinition[] = [
];
