import { Stack, Stage } from 'aws-cdk-lib';
import { readAssembly } from './assembly';
import { renderStack } from './report';

/** Asset hashes (SHA-256), in asset keys, paths and names. */
const ASSET_HASH = /[0-9a-f]{64}/g;
/** aws-cdk-lib appends an MD5 of the configuration to some logical ids (a function's current version): it changes with the code. */
const HASHED_LOGICAL_ID = /^(.*?)[0-9a-f]{32}$/;
/** The bootstrap bucket of the default and custom synthesizers (`cdk-<qualifier>-assets-<account>-<region>`). */
const ASSET_BUCKET = /^cdk-[a-z0-9]+-assets-/;
const BOOTSTRAP_VERSION = 'BootstrapVersion';
const CHECK_BOOTSTRAP_VERSION = 'CheckBootstrapVersion';

/** Every stack is in a stage: an App, a Stage, or the App aws-cdk-lib creates for a stack made without a scope. */
function stageOf(stack: Stack): Stage {
  return Stage.of(stack)!;
}

/**
 * The infrastructure review of one stack as Markdown, for a snapshot test
 * (`expect(reviewOf(stack)).toMatchSnapshot()`): the same sections as
 * `cdk-serverless-rds review`, with a header that names neither a folder nor
 * this package's version, so the snapshot changes only when the
 * infrastructure does.
 */
export function reviewOf(stack: Stack): string {
  const directory = stageOf(stack).synth().directory;
  const reviewed = readAssembly(directory).stacks.find(candidate => candidate.template.stackName === stack.node.path);
  if (!reviewed) {
    throw new Error(`${stack.node.path} has no template of its own in the cloud assembly (a nested stack is reviewed with its parent): pass the parent stack`);
  }
  return renderStack(reviewed, `Review of the stack ${stack.node.path}, made by reviewOf() from its synthesized template and metadata.`);
}

/**
 * The stack's synthesized template with what changes without an
 * infrastructure change replaced by placeholders: asset hashes
 * (`ASSET_HASH`), the bootstrap asset bucket (`ASSET_BUCKET`), logical ids
 * that end in a configuration hash (a function's `CurrentVersion<path hash><config hash>`
 * becomes `CurrentVersion<path hash>HASH`, everywhere it is referenced), and the bootstrap
 * version parameter and rule. For snapshot tests that fail on a real change
 * with a readable diff, and not when only a bundle's bytes change.
 */
export function normalizedTemplate(stack: Stack): Record<string, unknown> {
  const template = stageOf(stack).synth().getStackArtifact(stack.artifactId).template as { Resources?: Record<string, unknown>; Parameters?: Record<string, unknown>; Rules?: Record<string, unknown> };
  const renames = hashedLogicalIds(Object.keys(template.Resources ?? {}));
  let json = JSON.stringify(withoutBootstrapVersion(template));
  for (const [from, to] of renames) {
    json = json.split(from).join(to);
  }
  return normalizeValues(JSON.parse(json.replace(ASSET_HASH, 'ASSET_HASH'))) as Record<string, unknown>;
}

function withoutBootstrapVersion(template: { Parameters?: Record<string, unknown>; Rules?: Record<string, unknown> }): unknown {
  const { [BOOTSTRAP_VERSION]: _version, ...parameters } = template.Parameters ?? {};
  const { [CHECK_BOOTSTRAP_VERSION]: _check, ...rules } = template.Rules ?? {};
  const { Parameters: _parameters, Rules: _rules, ...rest } = template as Record<string, unknown>;
  return {
    ...rest,
    ...(Object.keys(parameters).length ? { Parameters: parameters } : {}),
    ...(Object.keys(rules).length ? { Rules: rules } : {}),
  };
}

/** Logical ids ending in a hash, each mapped to its prefix plus `HASH` (numbered when two share a prefix). */
function hashedLogicalIds(ids: readonly string[]): Map<string, string> {
  const renames = new Map<string, string>();
  const taken = new Set(ids);
  for (const id of [...ids].sort()) {
    const match = HASHED_LOGICAL_ID.exec(id);
    if (!match) {
      continue;
    }
    let name = `${match[1]}HASH`;
    for (let suffix = 2; taken.has(name); suffix++) {
      name = `${match[1]}HASH${suffix}`;
    }
    taken.add(name);
    renames.set(id, name);
  }
  return renames;
}

function normalizeValues(value: unknown): unknown {
  if (typeof value === 'string') {
    return ASSET_BUCKET.test(value) ? 'ASSET_BUCKET' : value;
  }
  if (Array.isArray(value)) {
    return value.map(normalizeValues);
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, normalizeValues(item)]));
  }
  return value;
}
