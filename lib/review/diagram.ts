import { asList, compare, isObject, StackTemplate, unique } from './template';

/** The resource types drawn as nodes, with the label a reviewer recognises. */
const NODE_TYPES: Record<string, string> = {
  'AWS::ApiGateway::RestApi': 'REST API',
  'AWS::ApiGatewayV2::Api': 'HTTP API',
  'AWS::DynamoDB::Table': 'DynamoDB table',
  'AWS::EC2::VPCEndpoint': 'VPC endpoint',
  'AWS::Events::EventBus': 'EventBridge bus',
  'AWS::Events::Rule': 'EventBridge rule',
  'AWS::Lambda::Alias': 'Lambda alias',
  'AWS::Lambda::Function': 'Lambda function',
  'AWS::RDS::DBCluster': 'DB cluster',
  'AWS::RDS::DBInstance': 'DB instance',
  'AWS::RDS::DBProxy': 'RDS Proxy',
  'AWS::S3::Bucket': 'S3 bucket',
  'AWS::SecretsManager::Secret': 'Secret',
  'AWS::Serverless::Application': 'SAR application',
  'AWS::SNS::Topic': 'SNS topic',
  'AWS::SQS::Queue': 'SQS queue',
};

/** Alarms are drawn as one node: one a metric would bury the architecture. */
export const ALARMS_NODE = 'CloudWatch alarms';
const ALARM_TYPES = ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm'];
const ALARM_ACTIONS = ['AlarmActions', 'OKActions', 'InsufficientDataActions'];

export interface Edge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
}

/**
 * The architecture as a graph of logical ids: nodes for the resources a
 * reviewer reasons about, edges for the references between them, directly or
 * through the resources that only connect two others (integrations, event
 * source mappings, invoke configs, proxy target groups, rotation schedules,
 * subscriptions).
 */
export class ArchitectureGraph {
  readonly nodes: string[];
  readonly edges: Edge[];

  constructor(private readonly template: StackTemplate) {
    this.nodes = template.sortByPath([...template.resources.keys()].filter(id => this.isNode(id)));
    const edges = [...this.referenceEdges(), ...this.connectorEdges()].filter(edge => edge.from !== edge.to);
    const merged = new Map<string, Edge>();
    for (const edge of edges) {
      const key = `${edge.from}\u0000${edge.to}`;
      const labels = unique([...(merged.get(key)?.label.split(', ') ?? []), edge.label]);
      merged.set(key, { ...edge, label: labels.join(', ') });
    }
    this.edges = [...merged.values()].sort((a, b) => compare(template.pathOf(a.from), template.pathOf(b.from))
      || compare(template.pathOf(a.to), template.pathOf(b.to)));
    this.alarmCount = ALARM_TYPES.flatMap(type => template.idsOfType(type)).length;
  }

  /** Alarms in the stack, drawn as the one node `ALARMS_NODE` when there are any. */
  readonly alarmCount: number;

  private isNode(id: string): boolean {
    const resource = this.template.resource(id);
    // Instances of a cluster are drawn inside their cluster's node.
    return resource.Type in NODE_TYPES && !(resource.Type === 'AWS::RDS::DBInstance' && this.clusterOf(id) !== undefined);
  }

  private clusterOf(instanceId: string): string | undefined {
    return this.template.referencedResource(this.template.properties(instanceId).DBClusterIdentifier);
  }

  /** The node a reference stands for: resources that only wrap another (secret attachments, versions, cluster instances) stand for it. */
  private nodeFor(id: string | undefined): string | undefined {
    if (id === undefined) {
      return undefined;
    }
    const resource = this.template.resource(id);
    const wrapped = ({
      'AWS::SecretsManager::SecretTargetAttachment': 'SecretId',
      'AWS::Lambda::Version': 'FunctionName',
      'AWS::RDS::DBInstance': 'DBClusterIdentifier',
    } as Record<string, string>)[resource.Type];
    const inner = wrapped ? this.template.referencedResource(resource.Properties?.[wrapped]) : undefined;
    if (inner !== undefined) {
      return this.nodeFor(inner);
    }
    return this.nodes.includes(id) ? id : undefined;
  }

  private nodesIn(value: unknown): string[] {
    return unique(this.template.references(value).map(({ id }) => this.nodeFor(id)).filter((id): id is string => id !== undefined));
  }

  /** A node referencing another node in its properties, labelled with the property (environment variables by name). */
  private referenceEdges(): Edge[] {
    return this.nodes.filter(id => this.template.resource(id).Type !== 'AWS::Events::Rule').flatMap(from =>
      this.template.references(this.template.properties(from)).flatMap(({ id, at }) => {
        const to = this.nodeFor(id);
        const label = at[0] === 'Environment' && at[1] === 'Variables' ? `env ${at[2]}` : at[0] ?? 'reference';
        return to === undefined ? [] : [{ from, to, label }];
      }));
  }

  private connectorEdges(): Edge[] {
    const t = this.template;
    const between = (type: string, connect: (properties: Record<string, unknown>) => Edge[]): Edge[] =>
      t.idsOfType(type).flatMap(id => connect(t.properties(id)));
    const pairs = (froms: string[], tos: string[], label: string): Edge[] => froms.flatMap(from => tos.map(to => ({ from, to, label })));
    return [
      ...between('AWS::ApiGatewayV2::Integration', p => pairs(this.nodesIn(p.ApiId), this.nodesIn(p.IntegrationUri), 'integration')),
      ...between('AWS::ApiGateway::Method', p => pairs(this.nodesIn(p.RestApiId), this.nodesIn(isObject(p.Integration) ? p.Integration.Uri : undefined), 'integration')),
      ...between('AWS::Lambda::EventSourceMapping', p => pairs(this.nodesIn(p.EventSourceArn), this.nodesIn(p.FunctionName), 'event source mapping')),
      ...between('AWS::Lambda::EventInvokeConfig', p => {
        const qualified = this.nodesIn(p.Qualifier);
        const invoked = qualified.length ? qualified : this.nodesIn(p.FunctionName);
        const destinations = isObject(p.DestinationConfig) ? p.DestinationConfig : {};
        return [
          ...pairs(invoked, this.nodesIn(isObject(destinations.OnSuccess) ? destinations.OnSuccess.Destination : undefined), 'on success'),
          ...pairs(invoked, this.nodesIn(isObject(destinations.OnFailure) ? destinations.OnFailure.Destination : undefined), 'on failure'),
        ];
      }),
      ...between('AWS::RDS::DBProxyTargetGroup', p => pairs(this.nodesIn(p.DBProxyName), this.nodesIn([p.DBClusterIdentifiers, p.DBInstanceIdentifiers]), 'target group')),
      ...between('AWS::SecretsManager::RotationSchedule', p => pairs(this.nodesIn(p.SecretId), this.nodesIn(p.RotationLambdaARN), 'rotated by')),
      ...between('AWS::SNS::Subscription', p => pairs(this.nodesIn(p.TopicArn), this.nodesIn(p.Endpoint), 'subscription')),
      ...ALARM_TYPES.flatMap(type => t.idsOfType(type)).flatMap(alarm =>
        pairs([ALARMS_NODE], this.nodesIn(ALARM_ACTIONS.map(key => t.properties(alarm)[key])), 'alarm actions')),
      ...t.idsOfType('AWS::Events::Rule').flatMap(rule => {
        const p = t.properties(rule);
        const targets = asList(p.Targets).filter(isObject);
        return [
          ...pairs(this.nodesIn(p.EventBusName), [rule], 'events'),
          ...pairs([rule], this.nodesIn(targets.map(target => target.Arn)), 'target'),
          ...pairs([rule], this.nodesIn(targets.map(target => target.DeadLetterConfig)), 'dead letters'),
        ];
      }),
    ];
  }

  label(id: string): string {
    if (id === ALARMS_NODE) {
      return `${ALARMS_NODE} (${this.alarmCount})`;
    }
    const resource = this.template.resource(id);
    const parts = [NODE_TYPES[resource.Type], this.template.pathOf(id)];
    if (resource.Type === 'AWS::RDS::DBCluster') {
      const classes = this.template.idsOfType('AWS::RDS::DBInstance').filter(instance => this.clusterOf(instance) === id)
        .map(instance => String(this.template.properties(instance).DBInstanceClass));
      parts.push(`${classes.length} instance(s): ${unique(classes).join(', ')}`);
    }
    return parts.join('<br/>');
  }
}

export function renderDiagram(template: StackTemplate): string {
  const graph = new ArchitectureGraph(template);
  if (!graph.nodes.length && !graph.alarmCount) {
    return '_Nothing to draw._';
  }
  const nodes = graph.alarmCount ? [...graph.nodes, ALARMS_NODE] : graph.nodes;
  const ids = mermaidIds(template, nodes);
  const quote = (value: string): string => `"${value.replace(/"/g, '#quot;')}"`;
  return [
    '```mermaid',
    'flowchart LR',
    ...nodes.map(id => `  ${ids.get(id)}[${quote(graph.label(id))}]`),
    ...graph.edges.map(edge => `  ${ids.get(edge.from)} -->|${quote(edge.label)}| ${ids.get(edge.to)}`),
    '```',
  ].join('\n');
}

/** Mermaid-safe node ids derived from construct paths (logical ids can carry asset hashes). */
function mermaidIds(template: StackTemplate, nodes: readonly string[]): Map<string, string> {
  const ids = new Map<string, string>();
  const taken = new Set<string>();
  for (const id of nodes) {
    const base = `n_${template.pathOf(id).replace(/[^A-Za-z0-9]/g, '_')}`;
    let candidate = base;
    for (let suffix = 2; taken.has(candidate); suffix++) {
      candidate = `${base}_${suffix}`;
    }
    taken.add(candidate);
    ids.set(id, candidate);
  }
  return ids;
}
