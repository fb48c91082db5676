import { Aws, Fn, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { DatabaseDashboard, DatabaseFunction, ProxiedDatabase } from '../../lib';

export interface ReferenceMonitoringStackProps extends StackProps {
  /** The databases of the app. */
  readonly databases: ProxiedDatabase[];
  /** The database functions of the app. */
  readonly functions: DatabaseFunction[];
}

/**
 * The app's one dashboard. It lives in a stack of its own that depends on the
 * others, so the others deploy, change and roll back without it; each of them
 * keeps its own alarms and alarm topic.
 */
export class ReferenceMonitoringStack extends Stack {
  public readonly dashboard: DatabaseDashboard;

  constructor(scope: Construct, id: string, props: ReferenceMonitoringStackProps) {
    super(scope, id, {
      description: 'cdk-serverless-rds reference app: the CloudWatch dashboard of its databases and functions',
      ...props,
    });
    this.dashboard = new DatabaseDashboard(this, 'Dashboard', {
      // Named after the stack, so that a second copy of the app gets its own dashboard.
      dashboardName: Fn.join('-', [Aws.STACK_NAME, 'dashboard']),
      databases: props.databases,
      functions: props.functions,
    });
  }
}
