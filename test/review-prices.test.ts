import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { DatabaseEngine } from '../lib/database/engine';
import { instanceClassesOf } from '../lib/database/private/instance-classes';
import { dbInstanceHour, dbInstanceVcpus } from '../lib/private/prices';
import { costFloor, monthlyUsd } from '../lib/review/cost';
import { StackTemplate } from '../lib/review/template';

/** Every engine the constructs or a consumer's template can name, as the template's `Engine`, with the classes accepted for it. */
const ENGINES: ReadonlyArray<[string, DatabaseEngine]> = [
  ['aurora-postgresql', DatabaseEngine.auroraPostgres()],
  ['aurora-mysql', DatabaseEngine.auroraMysql()],
  ['postgres', DatabaseEngine.postgres()],
  ['mysql', DatabaseEngine.mysql()],
  // RDS for MariaDB is offered on the same classes as the other RDS engines.
  ['mariadb', DatabaseEngine.mysql()],
];

function acceptedClasses(engine: DatabaseEngine): string[] {
  return Object.entries(instanceClassesOf(engine)).flatMap(([family, sizes]) => sizes.map(size => `db.${family}.${size}`));
}

describe('price coverage of every accepted engine and instance class', () => {
  /**
   * The priced classes, engine by engine. Every other accepted class is
   * unpriced (no cited us-east-1 source was found for it) and the review
   * lists it by name; a class that loses its price fails here.
   */
  const PRICED: Record<string, string[]> = {
    'aurora-postgresql': ['db.r6g.large', 'db.r7g.large', 'db.t4g.medium'],
    'aurora-mysql': ['db.r6g.large', 'db.r7g.large', 'db.t4g.medium'],
    'postgres': ['db.t4g.medium', 'db.t4g.micro', 'db.t4g.small'],
    'mysql': [],
    'mariadb': [],
  };

  test.each(ENGINES)('%s: exactly the listed classes are priced, every other accepted class is reported as unpriced', (engine, databaseEngine) => {
    const classes = acceptedClasses(databaseEngine);
    const priced = classes.filter(instanceClass => dbInstanceHour(engine, instanceClass) !== undefined).sort();
    expect(priced).toEqual(PRICED[engine]);
    const unpriced = classes.filter(instanceClass => dbInstanceHour(engine, instanceClass) === undefined);
    expect(unpriced.length).toBe(classes.length - PRICED[engine].length);
  });

  test.each(ENGINES)('%s: every accepted class has a vCPU count, so its proxy is always priced', (_engine, databaseEngine) => {
    expect(acceptedClasses(databaseEngine).filter(instanceClass => dbInstanceVcpus(instanceClass) === undefined)).toEqual([]);
  });

  test('a priced class carries its product, unit, Region, date and source', () => {
    expect(dbInstanceHour('aurora-mysql', 'db.r7g.large')).toEqual({
      name: 'Aurora MySQL db.r7g.large', usd: 0.276, unit: 'instance-hour', region: 'us-east-1', takenOn: '2026-11-21', source: 'https://aws.amazon.com/rds/aurora/pricing/',
    });
    expect(dbInstanceHour('postgres', 'db.t4g.small')).toEqual({
      name: 'RDS for PostgreSQL db.t4g.small', usd: 0.032, unit: 'instance-hour', region: 'us-east-1', takenOn: '2026-12-07',
      source: 'https://infratally.com/articles/aws-rds-pricing-explained-2026.html',
    });
  });

  test('a price is never borrowed from another engine or another size', () => {
    expect(dbInstanceHour('mysql', 'db.t4g.medium')).toBeUndefined();
    expect(dbInstanceHour('aurora-postgresql', 'db.r6g.xlarge')).toBeUndefined();
    expect(dbInstanceHour('postgres', 'db.t4g.medium.extra')).toBeUndefined();
    expect(dbInstanceHour('postgres', 't4g.medium')).toBeUndefined();
  });
});

describe('vCPUs of a DB instance class', () => {
  test.each([
    ['db.t2.micro', 1], ['db.t2.small', 1], ['db.t2.medium', 2],
    ['db.t3.micro', 2], ['db.t3.small', 2], ['db.t4g.small', 2], ['db.t4g.medium', 2], ['db.t4g.large', 2],
    ['db.t4g.xlarge', 4], ['db.t4g.2xlarge', 8],
    ['db.r6g.large', 2], ['db.r6g.xlarge', 4], ['db.m4.10xlarge', 40], ['db.r6i.12xlarge', 48],
    ['db.x2iedn.32xlarge', 128], ['db.m8g.48xlarge', 192],
  ])('%s has %d', (instanceClass, vcpus) => {
    expect(dbInstanceVcpus(instanceClass)).toBe(vcpus);
  });

  test.each(['db.serverless', 'db.r6g.medium', 'r6g.large', 'db.r6g.large.tpc2', 'db.r6g.huge'])('%s has no vCPU count', instanceClass => {
    expect(dbInstanceVcpus(instanceClass)).toBeUndefined();
  });
});

describe('cost floor of an RDS for MySQL db.t4g.small behind RDS Proxy', () => {
  function mysqlBehindProxy(multiAz: boolean): StackTemplate {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true } });
    const stack = new Stack(app, 'Mysql', { env: { account: '123456789012', region: 'us-east-1' } });
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
      vpcId: 'vpc-0123456789abcdef0',
      availabilityZones: ['us-east-1a', 'us-east-1b'],
      isolatedSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
    });
    const database = new rds.DatabaseInstance(stack, 'Database', {
      engine: rds.DatabaseInstanceEngine.mysql({ version: rds.MysqlEngineVersion.VER_8_0_41 }),
      instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.SMALL),
      multiAz,
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    });
    database.addProxy('Proxy', { secrets: [database.secret!], vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } });
    const artifact = app.synth().getStackByName('Mysql');
    return new StackTemplate('Mysql', artifact.template);
  }

  // 2 vCPU (the minimum the proxy bills) × 730 h × $0.015 per vCPU-hour (https://aws.amazon.com/rds/proxy/pricing/) = $21.90.
  test('the proxy is billed for the instance\'s 2 vCPUs, the instance itself is unpriced by name', () => {
    const items = costFloor(mysqlBehindProxy(false));
    const proxy = items.find(item => item.item.startsWith('RDS Proxy'))!;
    expect(proxy.item).toBe('RDS Proxy: Mysql/Database/Proxy (provisioned targets: 2 vCPU, billed at least 2)');
    expect(proxy.quantityText).toBe('2 vCPU × 730 h');
    expect(monthlyUsd(proxy)).toBeCloseTo(21.9, 10);
    const instance = items.find(item => item.item.startsWith('DB instance'))!;
    expect(instance.unpriced).toBe('no price for db.t4g.small (mysql) in the table');
  });

  // Multi-AZ (one standby): the standby is billed like the primary, and the proxy still follows the primary's vCPUs.
  test('Multi-AZ bills the instance twice and leaves the proxy at the primary\'s vCPUs', () => {
    const items = costFloor(mysqlBehindProxy(true));
    expect(items.find(item => item.item.startsWith('DB instance'))!.quantityText).toBe('2 × 730 h');
    expect(items.find(item => item.item.startsWith('RDS Proxy'))!.quantityText).toBe('2 vCPU × 730 h');
  });
});
