import { table, text, usd } from './markdown';
import {
  AURORA_SERVERLESS_V2_ACU_HOUR, AURORA_SERVERLESS_V2_IO_OPTIMIZED_ACU_HOUR, COMPOSITE_ALARM_MONTH, DASHBOARD_MONTH, DB_INSTANCE_HOUR, DB_INSTANCE_VCPUS,
  HIGH_RESOLUTION_ALARM_METRIC_MONTH, HOURS_PER_MONTH, INTERFACE_ENDPOINT_AZ_HOUR, KMS_KEY_MONTH, NAT_GATEWAY_HOUR, Price, PRICE_REGION, PRICES_TAKEN_ON,
  provisionedConcurrencyGbSecond, RDS_PROXY_ACU_HOUR, RDS_PROXY_MINIMUM_ACUS, RDS_PROXY_MINIMUM_VCPUS, RDS_PROXY_VCPU_HOUR, SECRET_MONTH,
  STANDARD_ALARM_METRIC_MONTH,
} from './prices';
import { asList, compare, isObject, StackTemplate } from './template';

/** One line of the cost floor; `price` is undefined when the price table has no entry for it. */
export interface CostItem {
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

function engineFamily(engine: string): string {
  return engine.startsWith('aurora') ? 'aurora' : engine;
}

function databaseItems(template: StackTemplate): CostItem[] {
  return dbInstances(template).map(instance => {
    const path = template.pathOf(instance.id);
    if (instance.instanceClass === SERVERLESS_CLASS) {
      const acus = instance.minimumAcus ?? 0;
      return {
        item: `Aurora Serverless v2 at minimum capacity: ${path}`,
        quantity: acus * HOURS_PER_MONTH,
        quantityText: `${acus} ACU × ${HOURS_PER_MONTH} h`,
        price: instance.ioOptimized ? AURORA_SERVERLESS_V2_IO_OPTIMIZED_ACU_HOUR : AURORA_SERVERLESS_V2_ACU_HOUR,
      };
    }
    const copies = instance.multiAz ? 2 : 1;
    const price = instance.ioOptimized ? undefined : DB_INSTANCE_HOUR[engineFamily(instance.engine)]?.[instance.instanceClass];
    return {
      item: `DB instance ${instance.instanceClass} (${instance.engine}${instance.multiAz ? ', Multi-AZ: primary and standby' : ''}): ${path}`,
      quantity: copies * HOURS_PER_MONTH,
      quantityText: `${copies > 1 ? `${copies} × ` : ''}${HOURS_PER_MONTH} h`,
      price,
      unpriced: price ? undefined : 'price not in table',
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
        item: `${name} (Aurora Serverless v2 targets: ${acus} ACU at minimum capacity, billed at least ${RDS_PROXY_MINIMUM_ACUS})`,
        quantity: billed * HOURS_PER_MONTH,
        quantityText: `${billed} ACU × ${HOURS_PER_MONTH} h`,
        price: RDS_PROXY_ACU_HOUR,
      });
    }
    if (provisioned.length) {
      const unknown = provisioned.filter(instance => DB_INSTANCE_VCPUS[instance.instanceClass] === undefined);
      const vcpus = provisioned.reduce((sum, instance) => sum + (DB_INSTANCE_VCPUS[instance.instanceClass] ?? 0), 0);
      const billed = Math.max(vcpus, RDS_PROXY_MINIMUM_VCPUS);
      items.push({
        item: `${name} (provisioned targets: ${vcpus} vCPU, billed at least ${RDS_PROXY_MINIMUM_VCPUS})`,
        quantity: billed * HOURS_PER_MONTH,
        quantityText: `${billed} vCPU × ${HOURS_PER_MONTH} h`,
        price: unknown.length ? undefined : RDS_PROXY_VCPU_HOUR,
        unpriced: unknown.length ? `vCPUs of ${unknown.map(instance => instance.instanceClass).join(', ')} not in table` : undefined,
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
    const price = provisionedConcurrencyGbSecond(architecture);
    return [{
      item: `Provisioned concurrency: ${template.pathOf(id)} (${memoryMb} MB, ${architecture})`,
      quantity: environments * (memoryMb / 1024) * HOURS_PER_MONTH * 3600,
      quantityText: `${environments} environment(s) × ${memoryMb / 1024} GB × ${HOURS_PER_MONTH} h × 3600 s`,
      price,
      unpriced: price ? undefined : 'price not in table',
    }];
  });
}

function networkItems(template: StackTemplate): CostItem[] {
  const nat = template.idsOfType('AWS::EC2::NatGateway').filter(id => template.existsByDefault(id)).map(id => ({
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
        item: `Interface VPC endpoint: ${template.pathOf(id)} (${template.render(template.properties(id).ServiceName)})`,
        quantity: zones * HOURS_PER_MONTH,
        quantityText: `${zones} AZ × ${HOURS_PER_MONTH} h`,
        price: INTERFACE_ENDPOINT_AZ_HOUR,
      };
    });
  return [...nat, ...endpoints];
}

/** Resources billed per month each, whatever they do. */
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
    item.price ? text(`${unitPrice(item.price)} per ${item.price.unit}`) : text(item.unpriced ?? 'price not in table'),
    item.price ? usd(monthlyUsd(item)) : '—',
  ]);
  const unpriced = items.filter(item => !item.price).length;
  const totalLabel = unpriced ? `**Total** (${unpriced} item(s) without a price left out)` : '**Total**';
  const prices = [...new Map(items.filter(item => item.price).map(item => [item.price!.name, item.price!])).values()]
    .sort((a, b) => compare(a.name, b.name))
    .map(price => `- ${price.name}: ${unitPrice(price)} per ${price.unit} (${price.source})`);
  return [
    table(['Item', 'Quantity', 'Unit price', 'Monthly USD'], [...rows, [totalLabel, '', '', `**${usd(totalUsd(items))}**`]]),
    `Not included (usage-based): ${EXCLUDED.join('; ')}.`,
    `Prices used: ${PRICE_REGION}, on demand, taken on ${PRICES_TAKEN_ON}; ${HOURS_PER_MONTH} hours a month; conditions evaluated with the parameters' defaults.`,
    prices.length ? prices.join('\n') : '_No priced items._',
  ].join('\n\n');
}

/** Cents at least, and every digit the price has (provisioned concurrency is priced in millionths). */
function unitPrice(price: Price): string {
  const digits = Math.max(2, (String(price.usd).split('.')[1] ?? '').length);
  return `$${price.usd.toFixed(digits)}`;
}
