import * as fs from 'fs';
import * as path from 'path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport, Stage } from 'aws-cdk-lib';
import { SynthChecks } from '../lib';

/**
 * Attach every check the reference stacks must pass, so that any finding
 * nobody acknowledged fails the synth: the cdk-nag packs, this library's
 * RDS Proxy and deploy readiness packs, and the Control Tower proactive
 * controls. aws-cdk-lib's own CloudFormation rules run at every synth and
 * fail it through the `@aws-cdk/core:validateAgainstDefaultRules` and
 * `@aws-cdk/core:strictCfnValidateErrors` context in cdk.json.
 */
export function addChecks(stage: Stage): void {
  SynthChecks.attach(stage, { additionalPlugins: [new ControlTowerGuardRules()] });
}

/** The Control Tower guard rules that cdk-validator-cfnguard ships, one file per control. */
const CONTROL_TOWER_RULES = path.join(path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard')), '..', 'rules', 'control-tower', 'cfn-guard');

/** A resource type as the guard rules spell it, always as a string literal (`let LAMBDA_PERMISSION_TYPE = "AWS::Lambda::Permission"`). */
const RESOURCE_TYPE = /AWS::[A-Za-z0-9]+::[A-Za-z0-9]+/g;

/**
 * cdk-validator-cfnguard's Control Tower rules, given to cfn-guard only
 * when they can apply: a rule file selects the resources of the types it
 * names and is skipped for a template without them, yet cfn-guard reads and
 * evaluates every file against every template, about 4 s for one reference
 * stack. Run with the files that name a type of the templates (or no type),
 * the findings are the same (test/checks.test.ts compares them) in
 * about a third of the time.
 */
export class ControlTowerGuardRules implements IPolicyValidationPlugin {
  private readonly all = new CfnGuardValidator({ controlTowerRulesEnabled: true });
  /** Its acknowledgement ids start with this name, as with the validator itself. */
  public readonly name = this.all.name;
  public readonly version = this.all.version;
  public readonly ruleIds = this.all.ruleIds;

  public validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const types = new Set(context.templatePaths.flatMap(template =>
      Object.values<{ Type?: string }>(JSON.parse(fs.readFileSync(template, 'utf8')).Resources ?? {}).map(resource => resource.Type)));
    const rules = controlTowerRules().filter(rule => rule.types.size === 0 || [...rule.types].some(type => types.has(type))).map(rule => rule.file);
    return rules.length === 0 ? { success: true, violations: [] } : new CfnGuardValidator({ controlTowerRulesEnabled: false, rules }).validate(context);
  }
}

/** A Control Tower rule file and the resource types it names. */
interface RuleFile {
  readonly file: string;
  readonly types: ReadonlySet<string>;
}

/** Read once per process: every app of the tests attaches the checks. */
let ruleTypes: RuleFile[] | undefined;

function controlTowerRules(): RuleFile[] {
  ruleTypes ??= ruleFiles(CONTROL_TOWER_RULES).map(file => ({ file, types: new Set(fs.readFileSync(file, 'utf8').match(RESOURCE_TYPE) ?? []) }));
  return ruleTypes;
}

function ruleFiles(folder: string): string[] {
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap(entry => {
    const file = path.join(folder, entry.name);
    return entry.isDirectory() ? ruleFiles(file) : entry.name.endsWith('.guard') ? [file] : [];
  }).sort();
}
