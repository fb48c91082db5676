import * as fs from 'fs';
import * as path from 'path';
import { CfnTemplate, compare, isObject, StackTemplate } from './template';

const STACK_ARTIFACT = 'aws:cloudformation:stack';
const ACKNOWLEDGED_RULES = 'aws:cdk:acknowledged-rules';
const LOGICAL_ID = 'aws:cdk:logicalId';

/** A `Validations.of(construct).acknowledge({ id, reason })`: it covers the construct and its subtree. */
export interface Acknowledgement {
  readonly ruleId: string;
  /** Construct path without the leading slash, e.g. `ReferenceApi/Database/ProxyRole`. */
  readonly constructPath: string;
  readonly reason: string;
}

export interface AssemblyStack {
  readonly template: StackTemplate;
  readonly acknowledgements: readonly Acknowledgement[];
}

interface MetadataEntry {
  readonly type: string;
  readonly data?: unknown;
}

interface StackArtifact {
  readonly type: string;
  readonly displayName?: string;
  readonly properties?: { readonly templateFile?: string };
  readonly metadata?: Record<string, MetadataEntry[]>;
  /** aws-cdk-lib writes large metadata to its own file and names it here. */
  readonly additionalMetadataFile?: string;
}

/** Every stack of a cloud assembly directory (what `cdk synth` writes), in name order. */
export function readAssembly(directory: string): AssemblyStack[] {
  const manifest = readJson(path.join(directory, 'manifest.json')) as { artifacts?: Record<string, StackArtifact> };
  return Object.entries(manifest.artifacts ?? {})
    .filter(([, artifact]) => artifact.type === STACK_ARTIFACT && artifact.properties?.templateFile)
    .map(([id, artifact]) => {
      const name = artifact.displayName ?? id;
      const template = readJson(path.join(directory, artifact.properties!.templateFile!)) as CfnTemplate;
      const metadata = {
        ...artifact.metadata,
        ...(artifact.additionalMetadataFile ? readJson(path.join(directory, artifact.additionalMetadataFile)) as Record<string, MetadataEntry[]> : {}),
      };
      return { template: new StackTemplate(name, template, constructPathsIn(metadata)), acknowledgements: acknowledgementsIn(metadata) };
    })
    .sort((a, b) => compare(a.template.stackName, b.template.stackName));
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
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}
