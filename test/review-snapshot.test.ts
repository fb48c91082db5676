import * as fs from 'fs';
import * as path from 'path';
import { App, NestedStack, Stack, Stage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { normalizedTemplate, reviewOf } from '../lib/review';
import { PROJECT_ROOT } from './support/app';

const work = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'review-snapshot-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A stack with a function whose code is an asset holding `source`, published as a version; optionally inside a stage. */
function stackWithCode(source: string, memorySize = 128, inStage = false): Stack {
  const directory = fs.mkdtempSync(path.join(work, 'code-'));
  fs.writeFileSync(path.join(directory, 'index.js'), source);
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(inStage ? new Stage(app, 'Prod') : app, 'Service');
  const fn = new lambda.Function(stack, 'Handler', {
    runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromAsset(directory), memorySize,
  });
  new lambda.Alias(stack, 'Live', { aliasName: 'live', version: fn.currentVersion });
  return stack;
}

describe('normalizedTemplate', () => {
  const first = stackWithCode('exports.handler = async () => 1;');
  const second = stackWithCode('exports.handler = async () => 2;');

  test('two synths that differ only in an asset\'s content give equal templates', () => {
    const raw = (stack: Stack) => JSON.stringify(Stage.of(stack)!.synth().getStackArtifact(stack.artifactId).template);
    expect(raw(first)).not.toBe(raw(second));
    expect(normalizedTemplate(first)).toEqual(normalizedTemplate(second));
  });

  test('asset hashes, the asset bucket, hashed version ids and the bootstrap version are placeholders', () => {
    const template = normalizedTemplate(first) as any;
    const fn = Object.values(template.Resources as Record<string, any>).find(resource => resource.Type === 'AWS::Lambda::Function');
    expect(fn.Properties.Code).toEqual({ S3Bucket: { 'Fn::Sub': 'ASSET_BUCKET' }, S3Key: 'ASSET_HASH.zip' });
    expect(Object.keys(template.Resources)).toContain('HandlerCurrentVersion93FB80BFHASH');
    expect(JSON.stringify(template)).toContain('{"Fn::GetAtt":["HandlerCurrentVersion93FB80BFHASH","Version"]}');
    expect(template.Parameters).toBeUndefined();
    expect(template.Rules).toBeUndefined();
    expect(JSON.stringify(template)).not.toMatch(/[0-9a-f]{32}/);
  });

  test('a real change still shows', () => {
    expect(normalizedTemplate(stackWithCode('exports.handler = async () => 1;', 256))).not.toEqual(normalizedTemplate(first));
  });
});

describe('reviewOf', () => {
  test('gives the stack\'s review with a header that names neither a folder nor a version, for stacks in an app or a stage', () => {
    const review = reviewOf(stackWithCode('exports.handler = async () => 1;', 128, true));
    expect(review.split('\n').slice(0, 3)).toEqual([
      '# Prod/Service', '', 'Review of the stack Prod/Service, made by reviewOf() from its synthesized template and metadata.',
    ]);
    expect(review).toContain('| `AWS::Lambda::Function` | 1 | `Prod/Service/Handler` |');
    expect(reviewOf(stackWithCode('exports.handler = async () => 2;', 128, true))).toBe(review);
  });

  test('throws for a nested stack, whose resources are reviewed with its parent', () => {
    const nested = new NestedStack(new Stack(new App(), 'Parent'), 'Nested');
    expect(() => reviewOf(nested)).toThrow('Parent/Nested has no template of its own in the cloud assembly (a nested stack is reviewed with its parent): pass the parent stack');
  });
});
