import * as path from 'path';
import { Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { DependencyLayer } from '../../lib';

/** The shared layer's package.json and lockfile. */
export const SHARED_LAYER_PACKAGE = path.join(__dirname, '..', '..', 'lambda', 'layers', 'shared');

/**
 * The dependency layer both reference stacks share: the database drivers,
 * the token signer, Powertools and the SSM client, versioned with its
 * lockfile. Functions in other stacks read its ARN from Parameter Store, so
 * a new layer version never meets a CloudFormation export in use.
 */
export class ReferenceLayerStack extends Stack {
  public readonly layer: DependencyLayer;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, {
      description: 'cdk-serverless-rds reference layer: the dependencies the reference functions share',
      ...props,
    });
    this.layer = new DependencyLayer(this, 'SharedDependencies', {
      packageDirectory: SHARED_LAYER_PACKAGE,
      description: 'pg, mysql2, RDS signer, SSM client and Powertools for the cdk-serverless-rds reference functions',
    });
  }
}
