import { Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Schedule } from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IDependable } from 'constructs';
import { ProxiedDatabase } from '../../database/proxied-database';
import { DatabaseNetwork } from '../../network/database-network';
import { acknowledgeInPacks } from '../../private/acknowledgements';
import { createBundledFunction } from '../../private/custom-resource';
import { engineName } from '../../private/engine-family';

/** Characters left out of generated passwords: those that need quoting in connection strings, shells or SQL. */
const EXCLUDE_CHARACTERS = ' %+~`#$&*()|[]{}:;<>?!\'/@"\\';
const PASSWORD_LENGTH = 30;
/** Lambda's Node.js runtimes ship the RDS certificate authorities here, but load them only when asked. */
export const RDS_CA_BUNDLE = '/var/runtime/ca-cert.pem';

/**
 * What happens to a user's secret when it leaves the stack: it follows the
 * database, so data kept in a snapshot or a retained database keeps the
 * passwords of its users. Secrets cannot be snapshotted; they are retained.
 */
function userSecretRemovalPolicy(database: ProxiedDatabase): RemovalPolicy {
  return database.removalPolicy === RemovalPolicy.DESTROY ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
}

/** A generated password for `userName`, encrypted with the database key, kept as long as the database's data. */
export function createUserSecret(scope: Construct, userName: string, database: ProxiedDatabase): secretsmanager.Secret {
  return new secretsmanager.Secret(scope, `UserSecret-${userName}`, {
    description: `Password of database user ${userName} in ${database.node.path}, used by its RDS Proxy`,
    encryptionKey: database.encryptionKey,
    generateSecretString: {
      secretStringTemplate: JSON.stringify({ username: userName }),
      generateStringKey: 'password',
      passwordLength: PASSWORD_LENGTH,
      excludeCharacters: EXCLUDE_CHARACTERS,
    },
    removalPolicy: userSecretRemovalPolicy(database),
  });
}

export interface UserSecretRotationOptions {
  readonly database: ProxiedDatabase;
  /** The secrets to rotate, by user name. */
  readonly secrets: { [userName: string]: secretsmanager.ISecret };
  readonly interval: Duration;
  /** What must be in place before the first rotation: the bootstrap that sets each user's password. */
  readonly after: IDependable;
}

/**
 * One single-user rotation function for the users' secrets of a database,
 * and a rotation schedule per secret. The function runs in the database
 * subnets with the bootstrap's security group, reads connection details
 * from its environment (not from the secret, which only holds the user name
 * and password), and may touch exactly these secrets and their key. The
 * schedules rotate first after `interval`, never on create, and only after
 * `after` completed, so a rotation never races the bootstrap that sets the
 * first password.
 */
export function rotateUserSecrets(scope: Construct, id: string, options: UserSecretRotationOptions): lambda.Function {
  const { database, secrets } = options;
  const network = database.network;
  const container = new Construct(scope, id);
  const { function: fn, role } = createBundledFunction(container, {
    handler: 'secret-rotation',
    description: `Rotates the passwords of the database users of ${database.node.path}`,
    timeout: Duration.minutes(1),
    logRetention: network.logRetention,
    logEncryptionKey: network.logEncryptionKey,
    placement: { vpc: network.vpc, subnets: network.databaseSubnets, securityGroup: database.rotationSecurityGroup },
    environment: {
      NODE_EXTRA_CA_CERTS: RDS_CA_BUNDLE,
      DATABASE_ENGINE: engineName(database.engine.family),
      DATABASE_HOST: database.writerEndpoint,
      DATABASE_PORT: String(database.databasePort),
      DATABASE_NAME: database.databaseName,
      CREDENTIAL_LENGTH: String(PASSWORD_LENGTH),
      CREDENTIAL_EXCLUDE_CHARACTERS: EXCLUDE_CHARACTERS,
    },
  });
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
    resources: Object.values(secrets).map(secret => secret.secretArn),
  }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetRandomPassword'], resources: ['*'] }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
    resources: [database.encryptionKey.keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` } },
  }));
  Validations.of(role).acknowledge({
    id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
    reason: 'secretsmanager:GetRandomPassword supports no resource-level permissions.',
  });
  // Secrets Manager invokes the function; the account condition keeps other accounts' secrets from using it.
  fn.addPermission('InvokedBySecretsManager', {
    principal: new iam.ServicePrincipal('secretsmanager.amazonaws.com'),
    sourceAccount: Stack.of(scope).account,
  });
  const permission = fn.node.findChild('InvokedBySecretsManager');
  Validations.of(permission).acknowledge({
    id: 'cdk-validator-cfnguard::lambda_function_public_access_prohibited_check',
    reason: 'Only secretsmanager.amazonaws.com may invoke, with SourceAccount set to this account (Ref AWS::AccountId in an environment-agnostic stack), which the guard rule does not read as a value.',
  });
  acknowledgeInPacks(fn, ['Serverless', 'HIPAA.Security', 'NIST.800.53.R5'], 'LambdaDLQ',
    'Secrets Manager invokes each rotation step and waits for its result; a failed step fails the rotation, which Secrets Manager records '
    + '(RotationFailed in CloudTrail) and leaves AWSCURRENT unchanged, so there is no asynchronous event to dead-letter.');
  acknowledgeInPacks(fn, ['HIPAA.Security', 'NIST.800.53.R5'], 'LambdaConcurrency',
    'Secrets Manager invokes it a few times per rotation, weeks apart; a reservation would only take concurrency from the account, '
    + 'and fail the deploy in accounts whose concurrency limit leaves nothing to reserve.');
  Validations.of(fn).acknowledge({
    id: DatabaseNetwork.ENI_SHARING_WARNING,
    reason: 'The rotation function logs in to the database as each user, which the app\'s functions must not: it shares the placement of the bootstrap (same subnets and security group), so it adds no ENIs.',
  });

  for (const [userName, secret] of Object.entries(secrets)) {
    const schedule = new secretsmanager.CfnRotationSchedule(container, `Schedule-${userName}`, {
      secretId: secret.secretArn,
      rotationLambdaArn: fn.functionArn,
      rotationRules: { scheduleExpression: Schedule.rate(options.interval).expressionString },
      rotateImmediatelyOnUpdate: false,
    });
    schedule.node.addDependency(options.after, permission, fn);
  }
  return fn;
}
