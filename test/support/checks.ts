import * as fs from 'fs';
import * as path from 'path';
import {
  Annotations, App, CfnWaitConditionHandle, IPolicyValidationContext, IPolicyValidationPlugin, PolicyValidationPluginReport, Stack, Validations,
} from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

interface ReportedViolation {
  readonly ruleName: string;
  readonly violatingConstructs: Array<{ readonly constructPath?: string }>;
  readonly acknowledgedId?: string;
  /** The path of the construct the acknowledgement was declared on. */
  readonly acknowledgedAt?: string;
  readonly reason?: string;
}

export interface PluginReport {
  readonly pluginName: string;
  readonly conclusion: string;
  readonly violations: ReportedViolation[];
  readonly suppressedViolations?: ReportedViolation[];
}

/** A stack named Checked with one resource that no check flags (CloudFormation rejects a template without resources). */
export function checkedStack(app: App): Stack {
  const stack = new Stack(app, 'Checked');
  new CfnWaitConditionHandle(stack, 'Placeholder');
  return stack;
}

/** A plugin named Fixed that reports rule_one, with the given severity, on each of the constructs (cfn-guard gives no severity). */
export class FixedFindings implements IPolicyValidationPlugin {
  public readonly name = 'Fixed';

  constructor(private readonly constructs: IConstruct[], private readonly severity?: string) {}

  public validate(_context: IPolicyValidationContext): PolicyValidationPluginReport {
    const violatingResources = this.constructs.map(construct => ({ constructPath: construct.node.path, locations: [] }));
    return violatingResources.length === 0
      ? { success: true, violations: [] }
      : { success: false, violations: [{ ruleName: 'rule_one', description: 'found', severity: this.severity, violatingResources }] };
  }
}

/** Synthesize an app whose checks are attached and return its validation report (validation-report.json). */
export function synthWithChecks(app: App): PluginReport[] {
  const assembly = app.synth();
  const file = path.join(assembly.directory, 'validation-report.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')).pluginReports : [];
}

/** "plugin: rule at path" for every unacknowledged finding. */
export function findings(reports: PluginReport[]): string[] {
  return reports.flatMap(report => report.violations.flatMap(violation =>
    violation.violatingConstructs.map(resource => `${report.pluginName}: ${violation.ruleName} at ${resource.constructPath}`)));
}

/** Every acknowledged finding with the id it was acknowledged by and the reason. */
export function acknowledgements(reports: PluginReport[]): Array<{ plugin: string; id: string; at: string; reason: string }> {
  return reports.flatMap(report => (report.suppressedViolations ?? []).flatMap(violation =>
    violation.violatingConstructs.map(resource => ({
      plugin: report.pluginName, id: violation.acknowledgedId ?? violation.ruleName, at: resource.constructPath ?? '', reason: violation.reason ?? '',
    }))));
}

/**
 * The acknowledgement declarations behind one stack's acknowledged findings:
 * each distinct construct the acknowledgement was declared on with its
 * reason, as "path: reason", however many findings (rules, packs,
 * resources) it covers.
 */
export function acknowledgementDeclarations(reports: PluginReport[], stackName: string): string[] {
  const declarations = reports.flatMap(report => (report.suppressedViolations ?? [])
    .filter(violation => violation.violatingConstructs.some(resource => resource.constructPath?.startsWith(`${stackName}/`)))
    .map(violation => `${violation.acknowledgedAt}: ${violation.reason}`));
  return [...new Set(declarations)].sort();
}

/** The id aws-cdk-lib records an acknowledgement of an annotation warning under. */
const ANNOTATION_PREFIX = 'Annotation::';

/**
 * Every acknowledgeable warning raised in each app (by root), acknowledged or
 * not. aws-cdk-lib drops an acknowledged warning before it reaches the tree,
 * so the report cannot tell whether such an acknowledgement is used:
 * recording starts when this module loads, before any app is built.
 */
const raisedWarnings = new WeakMap<IConstruct, Array<{ readonly path: string; readonly id: string }>>();
const addWarningV2 = Annotations.prototype.addWarningV2;
jest.spyOn(Annotations.prototype, 'addWarningV2').mockImplementation(function (this: Annotations, id, message, options) {
  const scope = (this as unknown as { readonly scope: IConstruct }).scope;
  const raised = raisedWarnings.get(scope.node.root) ?? [];
  raisedWarnings.set(scope.node.root, [...raised, { path: scope.node.path, id }]);
  addWarningV2.call(this, id, message, options);
});

/**
 * aws-cdk-lib's constructs acknowledge some of their own findings whether or
 * not they occur (the literal Availability Zones of an environment-specific
 * stack, for one): this project can neither see nor remove those. They are
 * the ones whose first frame below `Validations.acknowledge` is in aws-cdk-lib.
 */
function declaredByAwsCdkLib(trace: string[] | undefined): boolean {
  const caller = (trace ?? []).find(frame => !frame.includes('Validations.acknowledge'));
  return caller?.includes(' in aws-cdk-lib...') ?? false;
}

/**
 * Acknowledgements this project declared in the app that acknowledge nothing, as
 * "path: id (reason)": no finding of the report was suppressed by them, and
 * for warnings, no warning with their id was raised at or under their path.
 */
export function staleAcknowledgements(app: App, reports: PluginReport[]): string[] {
  const used = new Set(reports.flatMap(report => (report.suppressedViolations ?? []).map(violation => `${violation.acknowledgedAt}|${violation.acknowledgedId}`)));
  const warnings = raisedWarnings.get(app) ?? [];
  return app.node.findAll().flatMap(construct => construct.node.metadata
    .filter(entry => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY && !declaredByAwsCdkLib(entry.trace))
    .flatMap(entry => Object.entries(entry.data as Record<string, string>))
    .filter(([id]) => !used.has(`${construct.node.path}|${id}`))
    .filter(([id]) => !(id.startsWith(ANNOTATION_PREFIX) && warnings.some(warning =>
      [id, id.slice(ANNOTATION_PREFIX.length)].includes(warning.id) && (warning.path === construct.node.path || warning.path.startsWith(`${construct.node.path}/`)))))
    .map(([id, reason]) => `${construct.node.path}: ${id} (${reason})`));
}
