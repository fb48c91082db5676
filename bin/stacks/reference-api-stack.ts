import * as path from 'path';
import { CfnOutput, Duration, Stack, StackProps, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  AlarmTopic, AppParameters, DatabaseBootstrap, DatabaseFunction, DatabaseNetwork, DatabasePrivileges, DependencyLayer, ProxiedDatabase, UtilizationStatistic,
} from '../../lib';

const REFERENCE_API = path.join(__dirname, '..', '..', 'lambda', 'reference-api');
/** The database user the reference API connects as. */
export const REFERENCE_API_USER = 'reference_api';
/** Its migrations, which the deploy and the local dev server both apply. */
export const REFERENCE_API_MIGRATIONS = path.join(REFERENCE_API, 'migrations');
/** Shared settings of the reference API in Parameter Store (under the stack's path). */
export const REFERENCE_API_PARAMETERS: Record<string, string> = { 'default-limit': '20', 'max-limit': '100' };
/** The most provisioned environments the API's alias scales to. */
const PROVISIONED_MAXIMUM = 10;
/** The app's functions that derive a reservation (the API and the worker) share what the account leaves to reserve. */
const FUNCTIONS_SHARING_THE_ACCOUNT = 2;

/** The HTTP API's routes, which the local dev server serves too. */
export const REFERENCE_API_ROUTES: ReadonlyArray<{ readonly path: string; readonly methods: apigwv2.HttpMethod[] }> = [
  { path: '/items', methods: [apigwv2.HttpMethod.GET, apigwv2.HttpMethod.POST] },
  { path: '/items/{id}', methods: [apigwv2.HttpMethod.GET] },
];

export interface ReferenceApiStackProps extends StackProps {
  /** The dependency layer shared with the other reference stacks. */
  readonly layer: DependencyLayer;
}

/**
 * The reference API: an HTTP API (IAM authorization, access logs, throttling)
 * → a database function (with the account's concurrency limit in context and
 * room in it, its `live` alias with provisioned concurrency and auto
 * scaling) → RDS Proxy → Aurora PostgreSQL Serverless v2.
 */
export class ReferenceApiStack extends Stack {
  public readonly api: apigwv2.HttpApi;
  public readonly itemsFunction: DatabaseFunction;
  public readonly database: ProxiedDatabase;
  public readonly network: DatabaseNetwork;
  public readonly bootstrap: DatabaseBootstrap;
  public readonly parameters: AppParameters;
  public readonly alarmTopic: AlarmTopic;

  constructor(scope: Construct, id: string, props: ReferenceApiStackProps) {
    super(scope, id, {
      description: 'cdk-serverless-rds reference API: HTTP API, Lambda in a VPC, RDS Proxy, Aurora PostgreSQL Serverless v2',
      ...props,
    });

    this.alarmTopic = new AlarmTopic(this, 'Alarms', { displayName: 'Reference API alarms' });
    const alarms = { topic: this.alarmTopic.topic };
    this.network = new DatabaseNetwork(this, 'Network');
    this.database = new ProxiedDatabase(this, 'Database', { network: this.network, alarms });
    this.bootstrap = new DatabaseBootstrap(this, 'Bootstrap', {
      database: this.database,
      migrationsPath: REFERENCE_API_MIGRATIONS,
      users: [{ name: REFERENCE_API_USER, privileges: DatabasePrivileges.READ_WRITE }],
    });
    this.parameters = new AppParameters(this, 'Parameters', {
      path: `/${this.stackName}`,
      values: REFERENCE_API_PARAMETERS,
    });

    this.itemsFunction = new DatabaseFunction(this, 'ItemsFunction', {
      database: this.database,
      databaseUser: REFERENCE_API_USER,
      parameters: this.parameters,
      serviceName: 'reference-api',
      entry: path.join(REFERENCE_API, 'handler.ts'),
      depsLockFilePath: path.join(__dirname, '..', '..', 'package-lock.json'),
      description: 'Reference API: reads and writes the items table through RDS Proxy',
      timeout: Duration.seconds(10),
      layers: [props.layer],
      alarms,
      // Two warm environments all day, more on weekday business hours, and
      // target tracking on the Maximum statistic, which sees bursts that a
      // 3-minute average smooths away. Only when the context shows that the
      // account can hold them: its limit may leave nothing (new accounts
      // start at 10), and the API's derived reservation must cover them and
      // as many again for bursts.
      provisionedConcurrency: (DatabaseFunction.reservableConcurrency(this) ?? 0) >= FUNCTIONS_SHARING_THE_ACCOUNT * 2 * PROVISIONED_MAXIMUM ? {
        minCapacity: 2,
        maxCapacity: PROVISIONED_MAXIMUM,
        utilizationStatistic: UtilizationStatistic.MAXIMUM,
        schedules: [
          { name: 'BusinessHours', schedule: appscaling.Schedule.cron({ weekDay: 'MON-FRI', hour: '7', minute: '30' }), minCapacity: 4 },
          { name: 'AfterHours', schedule: appscaling.Schedule.cron({ weekDay: 'MON-FRI', hour: '19', minute: '0' }), minCapacity: 2 },
        ],
      } : undefined,
    });

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: this.network.logRetention,
      encryptionKey: this.network.logEncryptionKey,
    });
    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: 'Reference items API',
      createDefaultStage: false,
      defaultAuthorizer: new HttpIamAuthorizer(),
    });
    this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify({
          requestId: '$context.requestId',
          ip: '$context.identity.sourceIp',
          caller: '$context.identity.caller',
          requestTime: '$context.requestTime',
          routeKey: '$context.routeKey',
          status: '$context.status',
          responseLength: '$context.responseLength',
          integrationLatency: '$context.integrationLatency',
          integrationError: '$context.integrationErrorMessage',
        })),
      },
    });
    const integration = new HttpLambdaIntegration('Items', this.itemsFunction.invokeTarget);
    Validations.of(this.api).acknowledge({
      id: 'cdk-validator-cfnguard::lambda_function_public_access_prohibited_check',
      reason: 'Each permission lets only apigateway.amazonaws.com invoke the function, with SourceArn set to this API\'s execute-api ARN. The environment-agnostic stack builds that ARN with Fn::Join, and the guard rule accepts only literal strings or references to resources in the template.',
    });
    for (const route of REFERENCE_API_ROUTES) {
      this.api.addRoutes({ path: route.path, methods: route.methods, integration });
    }

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint, description: 'Base URL of the items API (IAM-signed requests)' });
    new CfnOutput(this, 'ProxyEndpoint', { value: this.database.endpoint, description: 'RDS Proxy endpoint' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topic.topicArn, description: 'Subscribe to receive the alarms of this stack' });
  }
}
