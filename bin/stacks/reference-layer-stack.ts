import * as path from 'path';
import { Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { DependencyLayer } from '../../lib';

/** The shared layer's package.json and lockfile. */
export const SHARED_LAYER_PACKAGE = path.join(__dirname, '..', '..', 'lambda', 'layers', 'shared');

/**
 * A DependencyLayer of the packages the reference functions use, versioned
 * with its lockfile, for functions that are not on a latency-critical path
 * (a function in another stack reads its ARN from Parameter Store, so a new
 * layer version never meets a CloudFormation export in use). The reference
 * functions themselves bundle every dependency: loaded from this layer, the
 * API's cold start measured clearly slower (BENCHMARKS.md). The benchmark
 * builds its layer variant from the same package.
 */
export class ReferenceLayerStack extends Stack {
  public readonly layer: DependencyLayer;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, {
      description: 'cdk-serverless-rds reference layer: the runtime\'s dependencies as a shared layer',
      ...props,
    });
    this.layer = new DependencyLayer(this, 'SharedDependencies', {
      packageDirectory: SHARED_LAYER_PACKAGE,
      description: 'pg, mysql2, the SigV4 signer and Powertools Logger and Metrics of the cdk-serverless-rds runtime',
    });
  }
}
