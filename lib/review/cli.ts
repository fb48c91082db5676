#!/usr/bin/env node
import * as fs from 'fs';
import * as path from 'path';
import { AssemblyNotFoundError } from './assembly';
import { diffAssemblies, renderDiff } from './diff';
import { DIFF_FILE, writeReview } from './report';

/** Exit codes, as --help documents them. */
export const EXIT_REVIEWED = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_GATE = 3;

/** What `--fail-on` accepts: the changes a pull-request check can refuse. */
const GATES = ['data-loss', 'new-wildcard', 'rejected-update'];

export const USAGE = `Usage: cdk-serverless-rds review [assembly] [options]

Writes a Markdown review of every stack in a synthesized cloud assembly (what
\`cdk synth\` writes): resources, IAM, network, Hyperplane ENIs,
acknowledgements and a monthly cost floor, one file per stack plus README.md.

Arguments:
  assembly               the cloud assembly directory (default: cdk.out)

Options:
  --out <dir>            where to write the review (default: review)
  --base <assembly>      also compare with another cloud assembly (e.g. the
                         main branch's): writes <out>/${DIFF_FILE} and prints it
  --fail-on <list>       with --base, exit ${EXIT_GATE} when the diff has one of these
                         (comma-separated): data-loss (a stateful resource
                         replaced or removed), new-wildcard (an added IAM
                         statement with a wildcard), rejected-update (an
                         update CloudFormation refuses, such as a custom
                         resource's new ServiceToken)
  -h, --help             show this help

Exit codes:
  ${EXIT_REVIEWED}  reviewed (and diffed), nothing in --fail-on found
  ${EXIT_FAILED}  an assembly could not be read (e.g. a broken template)
  ${EXIT_USAGE}  usage error: unknown command or option, missing value, no assembly
  ${EXIT_GATE}  a change listed in --fail-on was found
`;

class UsageError extends Error {}

interface Arguments {
  readonly assembly: string;
  readonly out: string;
  readonly base?: string;
  readonly failOn: readonly string[];
}

function parse(args: readonly string[]): Arguments | 'help' {
  if (args.includes('--help') || args.includes('-h')) {
    return 'help';
  }
  const [command, ...rest] = args;
  if (command !== 'review') {
    throw new UsageError(command === undefined ? 'no command given: use `cdk-serverless-rds review [assembly]`' : `unknown command '${command}': the only command is review`);
  }
  const positional: string[] = [];
  const options: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (!arg.startsWith('-')) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.split(/=(.*)/s, 2);
    if (!['--out', '--base', '--fail-on'].includes(name)) {
      throw new UsageError(`unknown option '${name}': see --help`);
    }
    const value = inline ?? rest[++i];
    if (value === undefined || value.startsWith('-')) {
      throw new UsageError(`${name} needs a value: see --help`);
    }
    options[name] = value;
  }
  if (positional.length > 1) {
    throw new UsageError(`one assembly directory expected, got ${positional.length}: ${positional.join(' ')}`);
  }
  const failOn = options['--fail-on'] === undefined ? [] : options['--fail-on'].split(',').map(gate => gate.trim()).filter(Boolean);
  const unknown = failOn.filter(gate => !GATES.includes(gate));
  if (unknown.length) {
    throw new UsageError(`--fail-on ${unknown.join(',')} is not a known change: use ${GATES.join(', ')}`);
  }
  if (failOn.length && options['--base'] === undefined) {
    throw new UsageError('--fail-on needs --base <assembly>: it gates on the changes between two assemblies');
  }
  return { assembly: positional[0] ?? 'cdk.out', out: options['--out'] ?? 'review', base: options['--base'], failOn };
}

function requireAssembly(directory: string, what: string): void {
  if (!fs.existsSync(path.join(directory, 'manifest.json'))) {
    throw new UsageError(`${what} ${directory} is not a cloud assembly (no manifest.json in it): run \`cdk synth\` first, or pass the directory it writes (cdk.out by default)`);
  }
}

/** Run the command; returns the exit code. */
export function run(args: readonly string[], stdout: (text: string) => void, stderr: (text: string) => void): number {
  try {
    const parsed = parse(args);
    if (parsed === 'help') {
      stdout(USAGE);
      return EXIT_REVIEWED;
    }
    requireAssembly(parsed.assembly, 'assembly');
    if (parsed.base !== undefined) {
      requireAssembly(parsed.base, '--base');
    }
    // The names as typed (cdk.out, ../base/cdk.out), so the output never holds an absolute path.
    const name = (directory: string): string => (path.isAbsolute(directory) ? path.basename(directory) : directory);
    const files = writeReview(parsed.assembly, parsed.out, { assemblyName: name(parsed.assembly) });
    stdout(`Wrote ${files.length} review file(s) to ${parsed.out}\n`);
    if (parsed.base === undefined) {
      // A diff left by an earlier run would read as the changes of this one.
      fs.rmSync(path.join(parsed.out, DIFF_FILE), { force: true });
      return EXIT_REVIEWED;
    }
    const diff = diffAssemblies(parsed.base, parsed.assembly, { baseName: name(parsed.base), headName: name(parsed.assembly) });
    const markdown = renderDiff(diff);
    fs.writeFileSync(path.join(parsed.out, DIFF_FILE), markdown);
    stdout(markdown);
    const tripped = [
      ...(parsed.failOn.includes('data-loss') && diff.dataLoss.length ? [`data-loss: ${diff.dataLoss.length} stateful resource(s) replaced or removed`] : []),
      ...(parsed.failOn.includes('new-wildcard') && diff.newWildcards.length ? [`new-wildcard: ${diff.newWildcards.length} added IAM statement(s) with a wildcard`] : []),
      ...(parsed.failOn.includes('rejected-update') && diff.rejectedUpdates.length
        ? [`rejected-update: ${diff.rejectedUpdates.length} update(s) CloudFormation refuses to make`] : []),
    ];
    for (const gate of tripped) {
      stderr(`cdk-serverless-rds review: --fail-on ${gate}\n`);
    }
    return tripped.length ? EXIT_GATE : EXIT_REVIEWED;
  } catch (error) {
    if (error instanceof UsageError || error instanceof AssemblyNotFoundError) {
      stderr(`cdk-serverless-rds: ${error.message}\n`);
      return EXIT_USAGE;
    }
    stderr(`cdk-serverless-rds: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_FAILED;
  }
}

if (require.main === module) {
  process.exitCode = run(process.argv.slice(2), text => process.stdout.write(text), text => process.stderr.write(text));
}
