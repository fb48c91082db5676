import { Stack } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct, IConstruct } from 'constructs';
import { parameterValueAtDeploy } from '../../private/parameter-store';

/** The attributes a database publishes, as the last segment of their parameter names, with what each holds. */
const PUBLISHED_ATTRIBUTES = {
  'endpoint': 'the proxy endpoint',
  'proxy-name': 'the name of the proxy',
  'proxy-arn': 'the ARN of the proxy',
  'proxy-security-group-id': 'the id of the proxy\'s security group',
  'vpc-id': 'the id of the proxy\'s VPC',
  'database-name': 'the name of the application database',
};

/** One attribute of a published database. */
export type PublishedAttribute = keyof typeof PUBLISHED_ATTRIBUTES;

/** The values a database publishes, by attribute. */
export type PublishedValues = { readonly [attribute in PublishedAttribute]: string };

/** The stacks that publish, and that read, each path in one app, so a reader in the same app deploys after the publisher. */
interface PathUse {
  publisher?: Stack;
  readonly readers: Set<Stack>;
}
const pathUsesByApp = new WeakMap<IConstruct, Map<string, PathUse>>();

function pathUse(scope: IConstruct, path: string): PathUse {
  const root = scope.node.root;
  const uses = pathUsesByApp.get(root) ?? new Map<string, PathUse>();
  pathUsesByApp.set(root, uses);
  const use = uses.get(path) ?? { readers: new Set<Stack>() };
  uses.set(path, use);
  return use;
}

function dependOnPublisher(reader: Stack, publisher: Stack, path: string): void {
  if (reader !== publisher) {
    reader.addStackDependency(publisher, `reads the database published at ${path} from Parameter Store`);
  }
}

/**
 * Write each attribute to a String parameter `<path>/<attribute>` in the
 * database's stack. Stacks of the same app that read the path deploy after it.
 */
export function publishAttributes(database: Construct, path: string, values: PublishedValues): ssm.StringParameter[] {
  const scope = new Construct(database, 'PublishedAttributes');
  const parameters = Object.entries(PUBLISHED_ATTRIBUTES).map(([attribute, description]) => new ssm.StringParameter(scope, attribute, {
    parameterName: `${path}/${attribute}`,
    stringValue: values[attribute as PublishedAttribute],
    description: `${capitalized(description)} of ${database.node.path}, for apps that import the database`,
    tier: ssm.ParameterTier.STANDARD,
  }));
  const use = pathUse(database, path);
  use.publisher = Stack.of(database);
  use.readers.forEach(reader => dependOnPublisher(reader, use.publisher!, path));
  return parameters;
}

/**
 * Reads the attributes published at `path`, each by CloudFormation at every
 * deploy of the stack of `scope`, through a stack parameter created when the
 * attribute is first read (a parameter nothing references is a template
 * warning). A publisher of the path in the same app deploys first.
 */
export function publishedAttributeReader(scope: Construct, path: string): (attribute: PublishedAttribute) => string {
  const reader = Stack.of(scope);
  const use = pathUse(scope, path);
  use.readers.add(reader);
  if (use.publisher) {
    dependOnPublisher(reader, use.publisher, path);
  }
  const values = new Map<PublishedAttribute, string>();
  return attribute => {
    if (!values.has(attribute)) {
      values.set(attribute, parameterValueAtDeploy(scope, attribute.split('-').map(capitalized).join(''), `${path}/${attribute}`,
        `${capitalized(PUBLISHED_ATTRIBUTES[attribute])} of the database published at ${path}`));
    }
    return values.get(attribute)!;
  };
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
