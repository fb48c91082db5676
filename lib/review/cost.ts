import { code, table, tableOrNone, text, usd } from './markdown';
import {
  AURORA_SERVERLESS_V2_ACU_HOUR, AURORA_SERVERLESS_V2_IO_OPTIMIZED_ACU_HOUR, COMPOSITE_ALARM_MONTH, DASHBOARD_MONTH, dbInstanceHour, dbInstanceVcpus,
  HIGH_RESOLUTION_ALARM_METRIC_MONTH, HOURS_PER_MONTH, INTERFACE_ENDPOINT_AZ_HOUR, KMS_KEY_MONTH, NAT_GATEWAY_HOUR, Price, PRICE_REGION,
  PROVISIONED_CONCURRENCY_GB_SECOND, RDS_PROXY_ACU_HOUR, RDS_PROXY_MINIMUM_ACUS, RDS_PROXY_MINIMUM_VCPUS, RDS_PROXY_VCPU_HOUR, SECRET_MONTH,
  STANDARD_ALARM_METRIC_MONTH,
} from '../private/prices';
import { asList, compare, isObject, StackTemplate } from './template';

/** One line of the cost floor; `price` is undefined when the price table has no entry for it. */
export interface CostItem {
  /** The logical id of the resource the line prices; undefined for lines that count every resource of a type. */
  readonly id?: string;
  readonly item: string;
  readonly quantity: number;
  /** How the quantity reads, e.g. `0.5 ACU × 730 h`. */
  readonly quantityText: string;
  readonly price?: Price;
  /** Why there is no price. */
  readonly unpriced?: string;
}

export function monthlyUsd(item: CostItem): number {
  return item.price ? item.quantity * item.price.usd : 0;
}

/** What runs with zero traffic: every line item the stack costs per month before any request. */
export function costFloor(template: StackTemplate): CostItem[] {
  return [
    ...databaseItems(template),
    ...proxyItems(template),
    ...provisionedConcurrencyItems(template),
    ...networkItems(template),
    ...perResourceItems(template),
  ];
}

export function totalUsd(items: readonly CostItem[]): number {
  return Math.round(items.reduce((sum, item) => sum + monthlyUsd(item), 0) * 100) / 100;
}

/** A DB instance as the cost floor and the proxy see it. */
interface DbInstance {
  readonly id: string;
  readonly instanceClass: string;
  readonly engine: string;
  /** Minimum ACUs of its cluster when the class is db.serverless. */
  readonly minimumAcus?: number;
  readonly ioOptimized: boolean;
  readonly multiAz: boolean;
}

const SERVERLESS_CLASS = 'db.serverless';

function dbInstances(template: StackTemplate): DbInstance[] {
  return template.idsOfType('AWS::RDS::DBInstance').filter(id => template.existsByDefault(id)).map(id => {
    const properties = template.resolveDefaults(template.properties(id)) as Record<string, unknown>;
    const clusterId = template.referencedResource(properties.DBClusterIdentifier);
    const cluster = clusterId ? template.resolveDefaults(template.properties(clusterId)) as Record<string, unknown> : {};
    const scaling = isObject(cluster.ServerlessV2ScalingConfiguration) ? cluster.ServerlessV2ScalingConfiguration : {};
    return {
      id,
      instanceClass: String(properties.DBInstanceClass),
      engine: String(properties.Engine ?? cluster.Engine ?? ''),
      minimumAcus: typeof scaling.MinCapacity === 'number' ? scaling.MinCapacity : undefined,
      ioOptimized: cluster.StorageType === 'aurora-iopt1',
      multiAz: properties.MultiAZ === true || properties.MultiAZ === 'true',
    };
  });
}

function databaseItems(template: StackTemplate): CostItem[] {
  return dbInstances(template).map(instance => {
    const path = template.pathOf(instance.id);
    if (instance.instanceClass === SERVERLESS_CLASS) {
      const acus = instance.minimumAcus ?? 0;
      return {
        id: instance.id,
        item: `Aurora Serverless v2 at minimum capacity: ${path}`,
        quantity: acus * HOURS_PER_MONTH,
        quantityText: `${acus} ACU × ${HOURS_PER_MONTH} h`,
        price: instance.ioOptimized ? AURORA_SERVERLESS_V2_IO_OPTIMIZED_ACU_HOUR : AURORA_SERVERLESS_V2_ACU_HOUR,
      };
    }
    const copies = instance.multiAz ? 2 : 1;
    const price = instance.ioOptimized ? undefined : dbInstanceHour(instance.engine, instance.instanceClass);
    return {
      id: instance.id,
      item: `DB instance ${instance.instanceClass} (${instance.engine}${instance.multiAz ? ', Multi-AZ: primary and standby' : ''}): ${path}`,
      quantity: copies * HOURS_PER_MONTH,
      quantityText: `${copies > 1 ? `${copies} × ` : ''}${HOURS_PER_MONTH} h`,
      price,
      unpriced: price ? undefined
        : `no price for ${instance.instanceClass} (${instance.engine}${instance.ioOptimized ? ', Aurora I/O-Optimized' : ''}) in the table`,
    };
  });
}

function proxyItems(template: StackTemplate): CostItem[] {
  const instances = dbInstances(template);
  return template.idsOfType('AWS::RDS::DBProxyTargetGroup').filter(id => template.existsByDefault(id)).flatMap(id => {
    const properties = template.properties(id);
    const proxy = template.referencedResource(properties.DBProxyName);
    const targets = new Set([...asList(properties.DBClusterIdentifiers), ...asList(properties.DBInstanceIdentifiers)]
      .map(value => template.referencedResource(value)).filter((target): target is string => target !== undefined));
    const served = instances.filter(instance => targets.has(instance.id)
      || targets.has(template.referencedResource(template.properties(instance.id).DBClusterIdentifier) ?? ''));
    const name = `RDS Proxy: ${proxy ? template.pathOf(proxy) : template.pathOf(id)}`;
    const serverless = served.filter(instance => instance.instanceClass === SERVERLESS_CLASS);
    const provisioned = served.filter(instance => instance.instanceClass !== SERVERLESS_CLASS);
    const items: CostItem[] = [];
    if (serverless.length) {
      const acus = serverless.reduce((sum, instance) => sum + (instance.minimumAcus ?? 0), 0);
      const billed = Math.max(acus, RDS_PROXY_MINIMUM_ACUS);
      items.push({
        id: proxy ?? id,
        item: `${name} (Aurora Serverless v2 targets: ${acus} ACU at minimum capacity, billed at least ${RDS_PROXY_MINIMUM_ACUS})`,
        quantity: billed * HOURS_PER_MONTH,
        quantityText: `${billed} ACU × ${HOURS_PER_MONTH} h`,
        price: RDS_PROXY_ACU_HOUR,
      });
    }
    if (provisioned.length) {
      const unknown = provisioned.filter(instance => dbInstanceVcpus(instance.instanceClass) === undefined);
      const vcpus = provisioned.reduce((sum, instance) => sum + (dbInstanceVcpus(instance.instanceClass) ?? 0), 0);
      const billed = Math.max(vcpus, RDS_PROXY_MINIMUM_VCPUS);
      items.push({
        id: proxy ?? id,
        item: `${name} (provisioned targets: ${vcpus} vCPU, billed at least ${RDS_PROXY_MINIMUM_VCPUS})`,
        quantity: billed * HOURS_PER_MONTH,
        quantityText: `${billed} vCPU × ${HOURS_PER_MONTH} h`,
        price: unknown.length ? undefined : RDS_PROXY_VCPU_HOUR,
        unpriced: unknown.length ? `no vCPU count for ${unknown.map(instance => instance.instanceClass).join(', ')}: not a db.<family>.<size> class` : undefined,
      });
    }
    return items;
  });
}

const DEFAULT_MEMORY_MB = 128;
const DEFAULT_ARCHITECTURE = 'x86_64';

function provisionedConcurrencyItems(template: StackTemplate): CostItem[] {
  const configured = ['AWS::Lambda::Alias', 'AWS::Lambda::Version'].flatMap(type => template.idsOfType(type))
    .filter(id => template.existsByDefault(id))
    .map(id => {
      const config = template.resolveDefaults(template.properties(id).ProvisionedConcurrencyConfig);
      return { id, environments: isObject(config) ? Number(config.ProvisionedConcurrentExecutions) : 0 };
    });
  // DatabaseFunction provisions its alias through this custom resource, which provisions nothing while the kill switch is on.
  const managed = template.idsOfType('Custom::FunctionConcurrency')
    .filter(id => template.existsByDefault(id))
    .map(id => {
      const properties = template.properties(id);
      return { id, environments: template.literal(properties.KillSwitch) === 'on' ? 0 : Number(template.literal(properties.ProvisionedConcurrentExecutions)) };
    });
  return [...configured, ...managed].flatMap(({ id, environments }) => {
    if (!environments) {
      return [];
    }
    const fn = template.referencedResource(template.properties(id).FunctionName);
    const fnProperties = fn ? template.properties(fn) : {};
    const memoryMb = Number(fnProperties.MemorySize ?? DEFAULT_MEMORY_MB);
    const architecture = String(asList(fnProperties.Architectures)[0] ?? DEFAULT_ARCHITECTURE);
    const price = PROVISIONED_CONCURRENCY_GB_SECOND[architecture];
    return [{
      id,
      item: `Provisioned concurrency: ${template.pathOf(id)} (${memoryMb} MB, ${architecture})`,
      quantity: environments * (memoryMb / 1024) * HOURS_PER_MONTH * 3600,
      quantityText: `${environments} environment(s) × ${memoryMb / 1024} GB × ${HOURS_PER_MONTH} h × 3600 s`,
      price,
      unpriced: price ? undefined : `no price for provisioned concurrency on ${architecture} in the table`,
    }];
  });
}

function networkItems(template: StackTemplate): CostItem[] {
  const nat = template.idsOfType('AWS::EC2::NatGateway').filter(id => template.existsByDefault(id)).map(id => ({
    id,
    item: `NAT gateway: ${template.pathOf(id)}`,
    quantity: HOURS_PER_MONTH,
    quantityText: `${HOURS_PER_MONTH} h`,
    price: NAT_GATEWAY_HOUR,
  }));
  const endpoints = template.idsOfType('AWS::EC2::VPCEndpoint').filter(id => template.existsByDefault(id))
    .filter(id => template.properties(id).VpcEndpointType === 'Interface')
    .map(id => {
      const zones = asList(template.properties(id).SubnetIds).length;
      return {
        id,
        item: `Interface VPC endpoint: ${template.pathOf(id)} (${template.render(template.properties(id).ServiceName)})`,
        quantity: zones * HOURS_PER_MONTH,
        quantityText: `${zones} AZ × ${HOURS_PER_MONTH} h`,
        price: INTERFACE_ENDPOINT_AZ_HOUR,
      };
    });
  return [...nat, ...endpoints];
}

/** Resources billed per month each, whatever they do: counted per type, not per resource. */
const PER_RESOURCE_TYPES = ['AWS::KMS::Key', 'AWS::SecretsManager::Secret', 'AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm', 'AWS::CloudWatch::Dashboard'];

function perResourceItems(template: StackTemplate): CostItem[] {
  const count = (type: string, item: string, price: Price): CostItem[] => {
    const quantity = template.idsOfType(type).filter(id => template.existsByDefault(id)).length;
    return quantity ? [{ item, quantity, quantityText: String(quantity), price }] : [];
  };
  const alarms = template.idsOfType('AWS::CloudWatch::Alarm').filter(id => template.existsByDefault(id)).map(id => template.properties(id));
  const alarmMetrics = (highResolution: boolean): number => alarms
    .filter(alarm => (Number(alarm.Period ?? 60) < 60 || asList(alarm.Metrics).some(m => isObject(m) && isObject(m.MetricStat) && Number(m.MetricStat.Period) < 60)) === highResolution)
    .reduce((sum, alarm) => sum + Math.max(1, asList(alarm.Metrics).filter(m => isObject(m) && m.MetricStat !== undefined).length), 0);
  const alarmItems = ([[false, 'CloudWatch alarm metrics, standard resolution', STANDARD_ALARM_METRIC_MONTH], [true, 'CloudWatch alarm metrics, high resolution', HIGH_RESOLUTION_ALARM_METRIC_MONTH]] as const)
    .flatMap(([highResolution, item, price]) => {
      const quantity = alarmMetrics(highResolution);
      return quantity ? [{ item, quantity, quantityText: String(quantity), price }] : [];
    });
  return [
    ...count('AWS::KMS::Key', 'KMS customer managed keys', KMS_KEY_MONTH),
    ...count('AWS::SecretsManager::Secret', 'Secrets Manager secrets', SECRET_MONTH),
    ...alarmItems,
    ...count('AWS::CloudWatch::CompositeAlarm', 'CloudWatch composite alarms', COMPOSITE_ALARM_MONTH),
    ...count('AWS::CloudWatch::Dashboard', 'CloudWatch dashboards', DASHBOARD_MONTH),
  ];
}

/** Resource types billed by what they do (requests, data, storage), so the floor has no line for them. */
const USAGE_BASED: Record<string, string> = {
  'AWS::Lambda::Function': 'Lambda requests and duration',
  'AWS::Lambda::LayerVersion': 'Lambda storage of the layer\'s code',
  'AWS::ApiGateway::RestApi': 'API Gateway requests',
  'AWS::ApiGatewayV2::Api': 'API Gateway requests',
  'AWS::SQS::Queue': 'SQS requests',
  'AWS::SNS::Topic': 'SNS requests and deliveries',
  'AWS::Events::EventBus': 'EventBridge events',
  'AWS::Events::Rule': 'EventBridge events',
  'AWS::Logs::LogGroup': 'CloudWatch Logs ingestion and storage',
  'AWS::Logs::QueryDefinition': 'CloudWatch Logs Insights queries',
  'AWS::S3::Bucket': 'S3 storage and requests',
  'AWS::DynamoDB::Table': 'DynamoDB requests and storage',
  'AWS::EC2::FlowLog': 'flow log delivery and storage',
  'AWS::RDS::DBCluster': 'Aurora storage, I/O and backups (its instances are priced on their own line)',
};

/**
 * Resource types that AWS does not bill by themselves: configuration that
 * only shapes a billed resource, and custom resources (the function they
 * call is listed with the functions).
 */
const NOT_BILLED_PREFIXES = ['AWS::IAM::', 'AWS::CloudFormation::', 'AWS::ApplicationAutoScaling::', 'AWS::CDK::', 'Custom::'];
const NOT_BILLED = new Set([
  'AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EC2::RouteTable', 'AWS::EC2::SubnetRouteTableAssociation', 'AWS::EC2::Route',
  'AWS::EC2::InternetGateway', 'AWS::EC2::VPCGatewayAttachment', 'AWS::EC2::SecurityGroup', 'AWS::EC2::SecurityGroupIngress',
  'AWS::EC2::SecurityGroupEgress', 'AWS::EC2::NetworkAcl', 'AWS::EC2::NetworkAclEntry', 'AWS::EC2::SubnetNetworkAclAssociation',
  'AWS::Lambda::Permission', 'AWS::Lambda::Version', 'AWS::Lambda::Alias', 'AWS::Lambda::EventInvokeConfig', 'AWS::Lambda::EventSourceMapping',
  'AWS::RDS::DBSubnetGroup', 'AWS::RDS::DBParameterGroup', 'AWS::RDS::DBClusterParameterGroup', 'AWS::RDS::DBProxyTargetGroup',
  'AWS::RDS::DBProxy', 'AWS::SecretsManager::SecretTargetAttachment', 'AWS::SecretsManager::RotationSchedule', 'AWS::SecretsManager::ResourcePolicy',
  'AWS::KMS::Alias', 'AWS::SQS::QueuePolicy', 'AWS::SNS::TopicPolicy', 'AWS::SNS::Subscription', 'AWS::S3::BucketPolicy',
  'AWS::ApiGateway::Deployment', 'AWS::ApiGateway::Stage', 'AWS::ApiGateway::Resource', 'AWS::ApiGateway::Method', 'AWS::ApiGateway::Account',
  'AWS::ApiGatewayV2::Stage', 'AWS::ApiGatewayV2::Route', 'AWS::ApiGatewayV2::Integration', 'AWS::Logs::ResourcePolicy', 'AWS::Logs::SubscriptionFilter',
  // Interface endpoints are priced on their own line; gateway endpoints (S3, DynamoDB) cost nothing.
  'AWS::EC2::VPCEndpoint',
]);

/** A resource the cost floor has no price for, and why. */
export interface UnpricedResource {
  readonly id: string;
  readonly type: string;
  readonly path: string;
  readonly reason: string;
}

/**
 * Every resource that adds to the bill without a line of the floor: items
 * whose price is missing from the table, usage-based resources, and types
 * the table does not know. Nothing is left out silently.
 */
export function unpricedResources(template: StackTemplate): UnpricedResource[] {
  const describe = (id: string, reason: string): UnpricedResource => ({ id, type: template.resource(id).Type, path: template.pathOf(id), reason });
  const items = costFloor(template);
  const withoutPrice = items.filter(item => !item.price && item.id !== undefined).map(item => describe(item.id!, item.unpriced ?? 'not in the price table'));
  const priced = new Set(items.map(item => item.id));
  const perResource = new Set(PER_RESOURCE_TYPES);
  const others = [...template.resources].filter(([id, resource]) => template.existsByDefault(id) && !priced.has(id) && !perResource.has(resource.Type)
    && !NOT_BILLED.has(resource.Type) && !NOT_BILLED_PREFIXES.some(prefix => resource.Type.startsWith(prefix)))
    .map(([id, resource]) => describe(id, USAGE_BASED[resource.Type] ? `usage-based: ${USAGE_BASED[resource.Type]}` : `no price for ${resource.Type} in the table`));
  return [...withoutPrice, ...others].sort((a, b) => compare(a.path, b.path) || compare(a.id, b.id));
}

/** Charges that depend on traffic or data, so they are not in the floor. */
const EXCLUDED = [
  'Lambda requests and duration (on-demand and above the provisioned environments)',
  'API Gateway, SQS, SNS and EventBridge requests',
  'Aurora and RDS storage, I/O and backup storage; Aurora Serverless v2 capacity above the minimum and the RDS Proxy charge that follows it',
  'CloudWatch Logs ingestion and storage, Logs Insights queries, custom metrics, X-Ray traces',
  'KMS and Secrets Manager API requests; VPC endpoint and NAT gateway data processing; data transfer',
  'Free tiers (e.g. the first CloudWatch alarms and dashboards) are not subtracted',
];

export function renderCost(template: StackTemplate): string {
  const items = costFloor(template);
  const rows = items.map(item => [
    text(item.item),
    text(item.quantityText),
    item.price ? text(`${unitPrice(item.price)} per ${item.price.unit}`) : text(item.unpriced ?? 'not in the price table'),
    item.price ? usd(monthlyUsd(item)) : '—',
  ]);
  const unpriced = items.filter(item => !item.price).length;
  const totalLabel = unpriced ? `**Total** (${unpriced} item(s) without a price left out)` : '**Total**';
  const prices = [...new Map(items.filter(item => item.price).map(item => [item.price!.name, item.price!])).values()]
    .sort((a, b) => compare(a.name, b.name))
    .map(price => `- ${price.name}: ${unitPrice(price)} per ${price.unit} (${price.region}, taken on ${price.takenOn}: ${price.source})`);
  const unpricedRows = unpricedResources(template).map(resource => [code(resource.id), code(resource.type), code(resource.path), text(resource.reason)]);
  return [
    table(['Item', 'Quantity', 'Unit price', 'Monthly USD'], [...rows, [totalLabel, '', '', `**${usd(totalUsd(items))}**`]]),
    `Not included (usage-based): ${EXCLUDED.join('; ')}.`,
    `Prices used: ${PRICE_REGION}, on demand; ${HOURS_PER_MONTH} hours a month; conditions evaluated with the parameters' defaults.`,
    prices.length ? prices.join('\n') : '_No priced items._',
    '### Not in the floor',
    tableOrNone(['Logical id', 'Type', 'Construct path', 'Why'], unpricedRows, 'Every resource that is billed is priced above.'),
  ].join('\n\n');
}

/** Cents at least, and every digit the price has (provisioned concurrency is priced in millionths). */
function unitPrice(price: Price): string {
  const digits = Math.max(2, (String(price.usd).split('.')[1] ?? '').length);
  return `$${price.usd.toFixed(digits)}`;
}
