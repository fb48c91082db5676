import * as fs from 'fs';
import * as path from 'path';
import { CfnTemplate, compare, isObject, StackTemplate } from './template';

const STACK_ARTIFACT = 'aws:cloudformation:stack';
/** A stage's assembly, written to its own directory (`assembly-<stage>`) inside the parent's. */
const NESTED_ASSEMBLY_ARTIFACT = 'cdk:cloud-assembly';
const ACKNOWLEDGED_RULES = 'aws:cdk:acknowledged-rules';
const LOGICAL_ID = 'aws:cdk:logicalId';
/** What aws-cdk-lib's validation plugins (cdk-nag, cfn-guard, ...) report, beside the manifest. */
export const VALIDATION_REPORT_FILE = 'validation-report.json';

/** A `Validations.of(construct).acknowledge({ id, reason })`: it covers the construct and its subtree. */
export interface Acknowledgement {
  readonly ruleId: string;
  /** Construct path without the leading slash, e.g. `ReferenceApi/Database/ProxyRole`. */
  readonly constructPath: string;
  readonly reason: string;
}

/** A finding a validation plugin reported and an acknowledgement suppressed. */
export interface AcknowledgedFinding {
  /** The rule as the plugin names it, e.g. `AwsSolutions-IAM5[Resource::*]`. */
  readonly rule: string;
  readonly reason: string;
  /** Construct paths of the resources the finding is about. */
  readonly resources: readonly string[];
}

export interface AssemblyStack {
  readonly template: StackTemplate;
  /** Every acknowledgement recorded in the stack's metadata, used or not. */
  readonly acknowledgements: readonly Acknowledgement[];
  /**
   * The findings acknowledged in the stack: from the validation report when the
   * app ran validation plugins, otherwise one per acknowledgement in the metadata.
   */
  readonly acknowledgedFindings: readonly AcknowledgedFinding[];
  /** True when `acknowledgedFindings` comes from a validation report. */
  readonly validated: boolean;
}

/** A cloud assembly directory as `cdk synth` writes it. */
export interface CloudAssembly {
  /** The schema version of its manifest, e.g. `55.0.0`. */
  readonly manifestVersion: string;
  /** Every stack, stages' stacks included, in name order. */
  readonly stacks: readonly AssemblyStack[];
}

interface MetadataEntry {
  readonly type: string;
  readonly data?: unknown;
}

interface Artifact {
  readonly type: string;
  readonly displayName?: string;
  readonly properties?: { readonly templateFile?: string; readonly directoryName?: string };
  readonly metadata?: Record<string, MetadataEntry[]>;
  /** aws-cdk-lib writes large metadata to its own file and names it here. */
  readonly additionalMetadataFile?: string;
}

interface Manifest {
  readonly version?: string;
  readonly artifacts?: Record<string, Artifact>;
}

interface ValidationReport {
  readonly pluginReports?: ReadonlyArray<{
    readonly suppressedViolations?: ReadonlyArray<{
      readonly ruleName?: string;
      readonly reason?: string;
      readonly violatingConstructs?: ReadonlyArray<{ readonly constructPath?: string }>;
    }>;
  }>;
}

/** Thrown when a directory is not a cloud assembly. */
export class AssemblyNotFoundError extends Error {}

/** Every stack of a cloud assembly directory, with those of its stages' nested assemblies. */
export function readAssembly(directory: string): CloudAssembly {
  const manifestFile = path.join(directory, 'manifest.json');
  if (!fs.existsSync(manifestFile)) {
    throw new AssemblyNotFoundError(`${directory} is not a cloud assembly (no manifest.json in it): run \`cdk synth\` first, or pass the directory it writes (cdk.out by default)`);
  }
  const manifest = readJson(manifestFile) as Manifest;
  const findings = reportedFindings(directory);
  return {
    manifestVersion: String(manifest.version ?? 'unknown'),
    stacks: stacksIn(directory, manifest, findings).sort((a, b) => compare(a.template.stackName, b.template.stackName)),
  };
}

function stacksIn(directory: string, manifest: Manifest, findings: readonly AcknowledgedFinding[] | undefined): AssemblyStack[] {
  return Object.entries(manifest.artifacts ?? {}).flatMap(([id, artifact]): AssemblyStack[] => {
    if (artifact.type === NESTED_ASSEMBLY_ARTIFACT && artifact.properties?.directoryName) {
      const nested = path.join(directory, artifact.properties.directoryName);
      const nestedManifest = readJson(path.join(nested, 'manifest.json')) as Manifest;
      return stacksIn(nested, nestedManifest, reportedFindings(nested) ?? findings);
    }
    if (artifact.type !== STACK_ARTIFACT || !artifact.properties?.templateFile) {
      return [];
    }
    // The display name is the stack's construct path ("Stage/Stack" inside a stage): what every construct path in it starts with.
    const name = artifact.displayName ?? id;
    const template = readJson(path.join(directory, artifact.properties.templateFile)) as CfnTemplate;
    const metadata = {
      ...artifact.metadata,
      ...(artifact.additionalMetadataFile ? readJson(path.join(directory, artifact.additionalMetadataFile)) as Record<string, MetadataEntry[]> : {}),
    };
    const acknowledgements = acknowledgementsIn(metadata);
    const acknowledgedFindings = findings
      ? findings.flatMap(finding => {
        const resources = finding.resources.filter(resource => covers(name, resource));
        return resources.length ? [{ ...finding, resources }] : [];
      })
      : acknowledgements.map(ack => ({ rule: ack.ruleId, reason: ack.reason, resources: [ack.constructPath] }));
    return [{ template: new StackTemplate(name, template, constructPathsIn(metadata)), acknowledgements, acknowledgedFindings, validated: findings !== undefined }];
  });
}

/** The suppressed violations of the directory's validation report; undefined when the app ran no validation plugin. */
function reportedFindings(directory: string): AcknowledgedFinding[] | undefined {
  const file = path.join(directory, VALIDATION_REPORT_FILE);
  if (!fs.existsSync(file)) {
    return undefined;
  }
  const report = readJson(file) as ValidationReport;
  return (report.pluginReports ?? []).flatMap(plugin => plugin.suppressedViolations ?? []).map(violation => ({
    rule: String(violation.ruleName ?? 'unnamed rule'),
    reason: String(violation.reason ?? ''),
    resources: (violation.violatingConstructs ?? []).map(construct => String(construct.constructPath ?? '').replace(/^\//, '')),
  }));
}

/** Logical id to construct path (without the leading slash), from the metadata every synth writes. */
function constructPathsIn(metadata: Record<string, MetadataEntry[]>): Map<string, string> {
  return new Map(Object.entries(metadata).flatMap(([constructPath, entries]) => entries
    .filter(entry => entry.type === LOGICAL_ID && typeof entry.data === 'string')
    .map(entry => [entry.data as string, constructPath.replace(/^\//, '')] as const)));
}

function acknowledgementsIn(metadata: Record<string, MetadataEntry[]>): Acknowledgement[] {
  return Object.entries(metadata).flatMap(([constructPath, entries]) => entries
    .filter(entry => entry.type === ACKNOWLEDGED_RULES && isObject(entry.data))
    .flatMap(entry => Object.entries(entry.data as Record<string, unknown>).map(([ruleId, reason]) => ({
      ruleId, constructPath: constructPath.replace(/^\//, ''), reason: String(reason),
    }))))
    .sort((a, b) => compare(a.ruleId, b.ruleId) || compare(a.constructPath, b.constructPath));
}

/** True when an acknowledgement recorded at `ancestor` covers the construct at `constructPath`. */
export function covers(ancestor: string, constructPath: string): boolean {
  return constructPath === ancestor || constructPath.startsWith(`${ancestor}/`);
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} cannot be read as JSON (${error instanceof Error ? error.message : String(error)}): synthesize the app again`);
  }
}
