import { CfnResource } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { asArray, policyDocumentsOf, Statement, statementsOf } from './policies';
import { logicalIdOf, referencedLogicalId, referencesIn, renderedResource, resourcesInTemplateOf } from './template';

/**
 * The VPC endpoint that serves the actions of one IAM service prefix, named
 * by its static member of `ec2.InterfaceVpcEndpointAwsService` or
 * `ec2.GatewayVpcEndpointAwsService`. A service gets only the kind of
 * endpoint through which the SDK's default hostname resolves to a private
 * route: DynamoDB interface endpoints have no private DNS, and an S3 interface
 * endpoint with private DNS needs a gateway endpoint next to it.
 */
interface ServiceEndpointEntry {
  readonly interfaceMember?: string;
  readonly gatewayMember?: string;
}

/**
 * The IAM service prefixes the library knows the endpoint of. A prefix it
 * does not list may be served by an interface endpoint of the same name.
 */
const ENDPOINTS: { readonly [prefix: string]: ServiceEndpointEntry } = {
  'appconfig': { interfaceMember: 'APPCONFIGDATA' },
  'athena': { interfaceMember: 'ATHENA' },
  'cloudformation': { interfaceMember: 'CLOUDFORMATION' },
  'cloudwatch': { interfaceMember: 'CLOUDWATCH_MONITORING' },
  'codebuild': { interfaceMember: 'CODEBUILD' },
  'cognito-idp': { interfaceMember: 'COGNITO_IDP' },
  'comprehend': { interfaceMember: 'COMPREHEND' },
  'dynamodb': { gatewayMember: 'DYNAMODB' },
  'ec2': { interfaceMember: 'EC2' },
  'ecr': { interfaceMember: 'ECR' },
  'ecs': { interfaceMember: 'ECS' },
  'elasticfilesystem': { interfaceMember: 'ELASTIC_FILESYSTEM' },
  'elasticloadbalancing': { interfaceMember: 'ELASTIC_LOAD_BALANCING' },
  'events': { interfaceMember: 'EVENTBRIDGE' },
  'execute-api': { interfaceMember: 'APIGATEWAY' },
  'firehose': { interfaceMember: 'KINESIS_FIREHOSE' },
  'glue': { interfaceMember: 'GLUE' },
  'kinesis': { interfaceMember: 'KINESIS_STREAMS' },
  'kms': { interfaceMember: 'KMS' },
  'lambda': { interfaceMember: 'LAMBDA' },
  'logs': { interfaceMember: 'CLOUDWATCH_LOGS' },
  'rds': { interfaceMember: 'RDS' },
  'rds-data': { interfaceMember: 'RDS_DATA' },
  'rekognition': { interfaceMember: 'REKOGNITION' },
  's3': { gatewayMember: 'S3' },
  's3express': { gatewayMember: 'S3_EXPRESS' },
  'secretsmanager': { interfaceMember: 'SECRETS_MANAGER' },
  'ses': { interfaceMember: 'EMAIL' },
  'sns': { interfaceMember: 'SNS' },
  'sqs': { interfaceMember: 'SQS' },
  'ssm': { interfaceMember: 'SSM' },
  'states': { interfaceMember: 'STEP_FUNCTIONS' },
  'sts': { interfaceMember: 'STS' },
  'textract': { interfaceMember: 'TEXTRACT' },
  'translate': { interfaceMember: 'TRANSLATE' },
};

/** The endpoint of one IAM service prefix, as an object and as the code that names it. */
export interface KnownEndpoint<T> {
  readonly service: T;
  /** How a user writes it, e.g. `ec2.InterfaceVpcEndpointAwsService.SSM`. */
  readonly code: string;
}

/** The interface endpoint service that serves a prefix with private DNS, when the library knows one. */
export function interfaceEndpointFor(prefix: string): KnownEndpoint<ec2.InterfaceVpcEndpointAwsService> | undefined {
  const member = ENDPOINTS[prefix]?.interfaceMember;
  return member === undefined ? undefined : {
    service: (ec2.InterfaceVpcEndpointAwsService as unknown as Record<string, ec2.InterfaceVpcEndpointAwsService>)[member],
    code: `ec2.InterfaceVpcEndpointAwsService.${member}`,
  };
}

/** The gateway endpoint service of a prefix (S3, DynamoDB), when it has one. */
export function gatewayEndpointFor(prefix: string): KnownEndpoint<ec2.GatewayVpcEndpointAwsService> | undefined {
  const member = ENDPOINTS[prefix]?.gatewayMember;
  return member === undefined ? undefined : {
    service: (ec2.GatewayVpcEndpointAwsService as unknown as Record<string, ec2.GatewayVpcEndpointAwsService>)[member],
    code: `ec2.GatewayVpcEndpointAwsService.${member}`,
  };
}

/**
 * The last part of the endpoint service names (`com.amazonaws.<region>.<name>`)
 * whose interface endpoints serve a prefix: the known one, or, for a prefix
 * the library does not map, an endpoint named like the prefix.
 */
export function interfaceEndpointNames(prefix: string): string[] {
  if (prefix in ENDPOINTS) {
    const known = interfaceEndpointFor(prefix);
    return known ? [known.service.shortName] : [];
  }
  return [prefix];
}

/** The last part of the gateway endpoint service name of a prefix (`s3`, `dynamodb`), if it has one. */
export function gatewayEndpointNames(prefix: string): string[] {
  const known = gatewayEndpointFor(prefix);
  return known ? [gatewayEndpointName(known.service)] : [];
}

/** `dynamodb` of `com.amazonaws.<region>.dynamodb`. */
export function gatewayEndpointName(service: ec2.GatewayVpcEndpointAwsService): string {
  return service.name.split('.').pop()!;
}

/** The AWS API calls of a function for one service. */
export interface ServiceCall {
  /** The IAM service prefix, such as `ssm`. */
  readonly prefix: string;
  /** The actions its role allows there. */
  readonly actions: string[];
}

/**
 * What Lambda does with the execution role on the function's behalf, outside
 * the function's network: logs, active tracing, the Hyperplane ENIs, and
 * `rds-db:connect`, which signs a database login rather than calling an API.
 */
const ON_BEHALF_ACTIONS = new Set([
  'logs:createloggroup', 'logs:createlogstream', 'logs:putlogevents',
  'ec2:createnetworkinterface', 'ec2:deletenetworkinterface', 'ec2:describenetworkinterfaces', 'ec2:describesubnets',
  'ec2:detachnetworkinterface', 'ec2:assignprivateipaddresses', 'ec2:unassignprivateipaddresses',
]);
const ON_BEHALF_PREFIXES = new Set(['xray', 'rds-db']);

/**
 * The AWS services a Lambda function calls, judged from the Allow statements
 * of its execution role in the function's template (so grants made after the
 * function count too), without what Lambda itself does with the role: logs,
 * X-Ray, the ENI actions, `rds-db:connect`, sending to the function's
 * destinations and dead-letter queue, reading its event sources, and KMS on
 * the keys those use. KMS actions under a `kms:ViaService` condition, or on
 * keys that only encrypt resources the role uses through their own service
 * (a queue's key for `sqs:SendMessage`), are that service's calls, not the
 * function's. Statements with `*` actions or `NotAction` name no service.
 * A function that is the ServiceToken of a custom resource calls S3: it
 * answers CloudFormation at a pre-signed S3 URL.
 * A role imported by ARN, or granted in other templates, shows nothing.
 */
export function servicesCalledBy(fn: lambda.CfnFunction): ServiceCall[] {
  const roleId = referencedLogicalId(fn, fn.role);
  if (roleId === undefined) {
    return [];
  }
  const statements = policyDocumentsOf(fn, roleId).flatMap(statementsOf)
    .filter(statement => statement.Effect === 'Allow');
  const template = new TemplateIndex(fn);
  const targets = lambdaTargets(fn, template);
  const targetKeys = new Set([...targets].flatMap(id => template.encryptionKeys(id)));
  let usedKeys: Set<string> | undefined;
  const keysOfUsedResources = () => usedKeys ??= new Set(statements.filter(statement => !isKmsOnly(statement))
    .flatMap(referencedIds).flatMap(id => template.encryptionKeys(id)));

  const calls = new Map<string, string[]>();
  for (const statement of statements) {
    const ids = referencedIds(statement);
    const onTargets = ids.length > 0 && ids.every(id => targets.has(id) || targetKeys.has(id));
    const viaService = isKmsOnly(statement)
      && (JSON.stringify(statement.Condition ?? {}).toLowerCase().includes('"kms:viaservice"')
        || (ids.length > 0 && ids.every(id => keysOfUsedResources().has(id))));
    if (onTargets || viaService) {
      continue;
    }
    for (const action of asArray(statement.Action).filter((a): a is string => typeof a === 'string')) {
      const prefix = action.split(':')[0].toLowerCase();
      if (!action.includes(':') || ON_BEHALF_PREFIXES.has(prefix) || ON_BEHALF_ACTIONS.has(action.toLowerCase())) {
        continue;
      }
      calls.set(prefix, [...new Set([...calls.get(prefix) ?? [], action])]);
    }
  }
  if (answersCustomResources(fn, template)) {
    // CloudFormation takes the answer as a PUT to a pre-signed URL in S3, made with no permission of the role.
    calls.set('s3', [...new Set([...calls.get('s3') ?? [], 's3:PutObject'])]);
  }
  return [...calls].map(([prefix, actions]) => ({ prefix, actions })).sort((a, b) => a.prefix.localeCompare(b.prefix));
}

/** True when the function is the ServiceToken of a custom resource of its template. */
function answersCustomResources(fn: lambda.CfnFunction, template: TemplateIndex): boolean {
  const fnId = logicalIdOf(fn);
  return template.ofKind(resource => resource.cfnResourceType === 'AWS::CloudFormation::CustomResource' || resource.cfnResourceType.startsWith('Custom::'))
    .some(id => referencesIn(template.properties(id).ServiceToken).some(reference => reference.logicalId === fnId));
}

function referencedIds(statement: Statement): string[] {
  return referencesIn(statement.Resource).map(reference => reference.logicalId);
}

function isKmsOnly(statement: Statement): boolean {
  const actions = asArray(statement.Action);
  return actions.length > 0 && actions.every(action => typeof action === 'string' && action.toLowerCase().startsWith('kms:'));
}

/**
 * Logical ids of what Lambda sends to or reads from for the function: its
 * dead-letter queue, the destinations of its asynchronous invocation
 * configs and the sources of its event source mappings (of the function, its
 * versions and its aliases).
 */
function lambdaTargets(fn: lambda.CfnFunction, template: TemplateIndex): Set<string> {
  const fnId = logicalIdOf(fn);
  const qualifiers = new Set([fnId, ...template.ofKind(resource => lambda.CfnAlias.isCfnAlias(resource) || lambda.CfnVersion.isCfnVersion(resource))
    .filter(id => referencesIn(template.properties(id).FunctionName).some(reference => reference.logicalId === fnId))]);
  const ofFunction = (id: string) => referencesIn(template.properties(id).FunctionName).some(reference => qualifiers.has(reference.logicalId));
  const references = [
    ...referencesIn(template.properties(fnId).DeadLetterConfig),
    ...template.ofKind(lambda.CfnEventInvokeConfig.isCfnEventInvokeConfig).filter(ofFunction)
      .flatMap(id => referencesIn(template.properties(id).DestinationConfig)),
    ...template.ofKind(lambda.CfnEventSourceMapping.isCfnEventSourceMapping).filter(ofFunction)
      .flatMap(id => referencesIn(template.properties(id).EventSourceArn)),
  ];
  return new Set(references.map(reference => reference.logicalId));
}

/** The resources of one template by logical id, each rendered at most once. */
class TemplateIndex {
  private readonly resources: Map<string, CfnResource>;
  private readonly rendered = new Map<string, Record<string, unknown>>();

  constructor(node: CfnResource) {
    this.resources = new Map(resourcesInTemplateOf(node, CfnResource.isCfnResource).map(resource => [logicalIdOf(resource), resource]));
  }

  /** The logical ids of the resources of one kind. */
  public ofKind(isKind: (resource: CfnResource) => boolean): string[] {
    return [...this.resources].filter(([, resource]) => isKind(resource)).map(([id]) => id);
  }

  /** The resolved properties of a resource of the template; empty for an unknown id. */
  public properties(id: string): Record<string, unknown> {
    let properties = this.rendered.get(id);
    if (properties === undefined) {
      const resource = this.resources.get(id);
      properties = resource ? renderedResource(resource).Properties ?? {} : {};
      this.rendered.set(id, properties);
    }
    return properties;
  }

  /**
   * The KMS keys of the template that encrypt a resource: keys (or aliases
   * of keys) its properties reference, directly or through one resource it
   * references (a secret attachment's secret).
   */
  public encryptionKeys(id: string): string[] {
    const referenced = (refId: string) => referencesIn(this.properties(refId)).map(reference => reference.logicalId);
    const keyOf = (refId: string): string[] => {
      const resource = this.resources.get(refId);
      if (resource && kms.CfnKey.isCfnKey(resource)) {
        return [refId];
      }
      return resource && kms.CfnAlias.isCfnAlias(resource) ? referencesIn(this.properties(refId).TargetKeyId).map(reference => reference.logicalId) : [];
    };
    const direct = referenced(id);
    return [...new Set([...direct, ...direct.flatMap(referenced)].flatMap(keyOf))];
  }
}
