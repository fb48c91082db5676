import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DependencyLayer } from '../../layer/dependency-layer';
import { stagedAssetBytes } from '../../private/asset-size';
import { PropValidationError } from '../../private/validation';

/**
 * Checks Lambda's layer limits for a function and the dependency layers it
 * uses (attached already, or about to be through `layerVersionFor`): each
 * layer is built for the function's runtime and architecture, the function
 * has at most 5 layers in all, and (at synth, once assets are built) code
 * plus layers stay under 250 MB unzipped.
 */
export function validateFunctionLayers(fn: lambda.Function, layers: DependencyLayer[], runtime: lambda.Runtime, architecture: lambda.Architecture): void {
  for (const layer of layers) {
    if (!layer.runtime.runtimeEquals(runtime)) {
      throw new PropValidationError(fn,
        `the layer ${layer.node.path} is built for runtime ${layer.runtime.name} but the function runs ${runtime.name}: `
        + `set the layer's runtime to ${runtime.name} too, or run the function on ${layer.runtime.name}`);
    }
    if (layer.architecture.name !== architecture.name) {
      throw new PropValidationError(fn,
        `the layer ${layer.node.path} is built for architecture ${layer.architecture.name} but the function runs on ${architecture.name}: `
        + `set the layer's architecture to ${architecture.name} too, or run the function on ${layer.architecture.name}`);
    }
  }
  validateLayerCount(fn, layers);
  fn.node.addValidation({ validate: () => unzippedSizeErrors(fn, layers) });
}

function validateLayerCount(fn: lambda.Function, layers: DependencyLayer[]): void {
  const stack = Stack.of(fn);
  const attached: unknown = stack.resolve((fn.node.defaultChild as lambda.CfnFunction).layers);
  if (attached !== undefined && !Array.isArray(attached)) {
    // A list token (e.g. Fn::Split) has no length before deployment.
    return;
  }
  const attachedArns = new Set((attached ?? []).map(arn => JSON.stringify(arn)));
  const toAttach = layers.filter(layer => !attachedArns.has(JSON.stringify(stack.resolve(layer.layerVersionFor(fn).layerVersionArn))));
  const total = attachedArns.size + toAttach.length;
  if (total > DependencyLayer.MAX_LAYERS_PER_FUNCTION) {
    throw new PropValidationError(fn,
      `the function would use ${total} layers (${attachedArns.size} attached, ${toAttach.length} more: ${toAttach.map(layer => layer.node.path).join(', ')}), `
      + `but Lambda allows at most ${DependencyLayer.MAX_LAYERS_PER_FUNCTION}: merge dependency layers into one package.json or bundle some packages into the function`);
  }
}

function unzippedSizeErrors(fn: lambda.Function, layers: DependencyLayer[]): string[] {
  const parts = [
    { name: 'function code', bytes: stagedAssetBytes(fn) },
    ...layers.map(layer => ({ name: `layer ${layer.node.path}`, bytes: layer.unzippedSizeBytes() })),
  ];
  // Parts of unknown size (bundling skipped, inline code) count as 0: the check then holds for what is known.
  const total = parts.reduce((sum, part) => sum + (part.bytes ?? 0), 0);
  if (total <= DependencyLayer.MAX_UNZIPPED_BYTES) {
    return [];
  }
  const listed = parts.map(part => `${part.name} ${part.bytes === undefined ? 'size unknown' : size(part.bytes)}`).join(', ');
  return [
    `the function and its layers unzip to ${size(total)} (${total} bytes), above Lambda's limit of 250 MB (${DependencyLayer.MAX_UNZIPPED_BYTES} bytes): ${listed}; `
    + 'mark packages that a layer provides as externals in the function bundle, drop unused dependencies from the layers\' package.json, or use a container image function',
  ];
}

function size(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
