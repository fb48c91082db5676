import * as path from 'path';
import { Aws, CfnOutput, Duration, Fn, Stack, StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import { Construct } from 'constructs';
import {
  AlarmTopic, DatabaseBootstrap, DatabaseEngine, DatabaseFunction, DatabaseNetwork, DatabasePrivileges, ProxiedDatabase,
} from '../../lib';

const REFERENCE_WORKER = path.join(__dirname, '..', '..', 'lambda', 'reference-worker');
/** The database user the worker connects as. */
export const REFERENCE_WORKER_USER = 'reference_worker';
/** The worker's migrations (MySQL dialect). */
export const REFERENCE_WORKER_MIGRATIONS = path.join(REFERENCE_WORKER, 'migrations');
/** The events the worker records. */
export const ORDER_EVENT_PATTERN = { source: ['cdk-serverless-rds.reference'], detailType: ['OrderPlaced'] };

/**
 * The async reference: an EventBridge rule on the app's event bus → a worker
 * function → RDS Proxy → Aurora MySQL Serverless v2. Each result goes back to
 * the bus as a success record; an event that still fails after Lambda's
 * retries goes to the worker's failure queue, with the error.
 */
export class ReferenceWorkerStack extends Stack {
  public readonly eventBus: events.EventBus;
  public readonly worker: DatabaseFunction;
  public readonly database: ProxiedDatabase;
  public readonly network: DatabaseNetwork;
  public readonly bootstrap: DatabaseBootstrap;
  public readonly alarmTopic: AlarmTopic;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, {
      description: 'cdk-serverless-rds reference worker: EventBridge, Lambda in a VPC, RDS Proxy, Aurora MySQL Serverless v2',
      ...props,
    });

    this.alarmTopic = new AlarmTopic(this, 'Alarms', { displayName: 'Reference worker alarms' });
    const alarms = { topic: this.alarmTopic.topic };
    this.network = new DatabaseNetwork(this, 'Network');
    this.database = new ProxiedDatabase(this, 'Database', { network: this.network, engine: DatabaseEngine.auroraMysql(), alarms });
    this.bootstrap = new DatabaseBootstrap(this, 'Bootstrap', {
      database: this.database,
      migrationsPath: REFERENCE_WORKER_MIGRATIONS,
      users: [{ name: REFERENCE_WORKER_USER, privileges: DatabasePrivileges.READ_WRITE }],
    });

    this.eventBus = new events.EventBus(this, 'Events', {
      // Named after the stack, so that a second copy of the app gets its own bus.
      eventBusName: Fn.join('-', [Aws.STACK_NAME, 'orders']),
      description: 'Order events and the worker\'s success records',
    });

    this.worker = new DatabaseFunction(this, 'Worker', {
      database: this.database,
      databaseUser: REFERENCE_WORKER_USER,
      serviceName: 'reference-worker',
      entry: path.join(REFERENCE_WORKER, 'handler.ts'),
      depsLockFilePath: path.join(__dirname, '..', '..', 'package-lock.json'),
      description: 'Reference worker: records OrderPlaced events in Aurora MySQL through RDS Proxy',
      timeout: Duration.seconds(30),
      onSuccess: new destinations.EventBridgeDestination(this.eventBus),
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
      alarms,
    });

    // An event EventBridge cannot hand to Lambda at all (throttled API, missing permission) lands in the
    // same failure queue as the events the worker failed on, so one queue holds every lost order.
    const orderPlaced = new events.Rule(this, 'OrderPlaced', {
      // Named after the stack: the failure queue's key policy names the rule by its ARN.
      ruleName: Fn.join('-', [Aws.STACK_NAME, 'order-placed']),
      description: 'OrderPlaced events to the worker',
      eventBus: this.eventBus,
      eventPattern: ORDER_EVENT_PATTERN,
      targets: [new targets.LambdaFunction(this.worker.invokeTarget, { deadLetterQueue: this.worker.failureQueue, retryAttempts: 8, maxEventAge: Duration.hours(2) })],
    });
    this.worker.allowEventBridgeDeadLetters(orderPlaced);

    new CfnOutput(this, 'EventBusName', { value: this.eventBus.eventBusName, description: 'Put OrderPlaced events here' });
    new CfnOutput(this, 'FailureQueueUrl', { value: this.worker.failureQueue!.queueUrl, description: 'Events that failed after every retry, with the error' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topic.topicArn, description: 'Subscribe to receive the alarms of this stack' });
  }
}
