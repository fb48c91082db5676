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
  /** The RDS families that ec2instances.info's table prices in every size RDS accepts. */
  const RDS_WHOLE_FAMILIES = ['m4', 'm5', 'm6g', 'r4', 'r5', 'r6g', 't2', 't3'];

  /**
   * The priced classes, engine by engine: every accepted size of the whole
   * families, the other classes by name, and how many that makes. Every
   * other accepted class is unpriced (no cited us-east-1 source was found
   * for it) and the review lists it by name; a class that loses its price
   * fails here.
   */
  const PRICED: Record<string, { readonly wholeFamilies: string[]; readonly classes: string[]; readonly count: number }> = {
    'aurora-postgresql': { wholeFamilies: ['r4', 'r5', 'r6g'], classes: ['db.r7g.large', 'db.t3.large', 'db.t3.medium', 'db.t4g.medium'], count: 25 },
    'aurora-mysql': { wholeFamilies: ['r4', 'r5', 'r6g', 't2'], classes: ['db.r7g.large', 'db.t3.large', 'db.t3.medium', 'db.t3.small', 'db.t4g.medium'], count: 28 },
    'postgres': { wholeFamilies: RDS_WHOLE_FAMILIES, classes: ['db.t4g.medium', 'db.t4g.micro', 'db.t4g.small'], count: 57 },
    'mysql': { wholeFamilies: RDS_WHOLE_FAMILIES, classes: ['db.t4g.small'], count: 55 },
    'mariadb': { wholeFamilies: RDS_WHOLE_FAMILIES, classes: [], count: 54 },
  };

  test.each(ENGINES)('%s: exactly the listed classes are priced, every other accepted class is reported as unpriced', (engine, databaseEngine) => {
    const classes = acceptedClasses(databaseEngine);
    const { wholeFamilies, classes: named, count } = PRICED[engine];
    const expected = [...classes.filter(instanceClass => wholeFamilies.includes(instanceClass.split('.')[1])), ...named].sort();
    const priced = classes.filter(instanceClass => dbInstanceHour(engine, instanceClass) !== undefined).sort();
    expect(priced).toEqual(expected);
    expect(priced.length).toBe(count);
    const unpriced = classes.filter(instanceClass => dbInstanceHour(engine, instanceClass) === undefined);
    expect(unpriced.length).toBe(classes.length - count);
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
    expect(dbInstanceHour('postgres', 'db.m6g.large')).toEqual({
      name: 'RDS for PostgreSQL db.m6g.large', usd: 0.159, unit: 'instance-hour', region: 'us-east-1', takenOn: '2021-08-03',
      source: 'https://github.com/vantage-sh/ec2instances.info/blob/14ede5a54df6e33be6ccf96ae9cb60e168635844/www/rds/instances.json',
    });
  });

  // Read by hand from the us-east-1 entries of the ec2instances.info table, by engine code.
  test.each([
    ['aurora-postgresql', 'db.r6g.xlarge', 0.519],
    ['aurora-postgresql', 'db.r5.24xlarge', 13.92],
    ['aurora-mysql', 'db.t2.small', 0.041],
    ['aurora-mysql', 'db.r6g.16xlarge', 8.306],
    ['postgres', 'db.r6g.large', 0.225],
    ['postgres', 'db.t3.2xlarge', 0.579],
    ['mysql', 'db.m4.10xlarge', 3.502],
    ['mysql', 'db.m6g.large', 0.152],
    ['mariadb', 'db.r5.large', 0.24],
    ['mariadb', 'db.t2.micro', 0.017],
  ])('%s %s costs $%s an hour', (engine, instanceClass, usd) => {
    expect(dbInstanceHour(engine, instanceClass)?.usd).toBe(usd);
  });

  test('where a newer source prices a class too, its price and source are the ones given', () => {
    expect(dbInstanceHour('mysql', 'db.m5.large')).toMatchObject({ usd: 0.171, takenOn: '2026-05-03', source: expect.stringContaining('infracost') });
    expect(dbInstanceHour('aurora-mysql', 'db.r4.8xlarge')).toMatchObject({ usd: 4.64, takenOn: '2025-03-05', source: expect.stringContaining('infracost') });
    expect(dbInstanceHour('aurora-postgresql', 'db.r6g.large')).toMatchObject({ usd: 0.26, takenOn: '2026-11-21', source: 'https://aws.amazon.com/rds/aurora/pricing/' });
  });

  test('a price is never borrowed from another engine or another size', () => {
    expect(dbInstanceHour('mariadb', 'db.t4g.small')).toBeUndefined();
    expect(dbInstanceHour('aurora-postgresql', 'db.t3.small')).toBeUndefined();
    expect(dbInstanceHour('aurora-postgresql', 'db.r7g.xlarge')).toBeUndefined();
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

describe('cost floor of Aurora Serverless v2 ranges behind RDS Proxy', () => {
  function serverless(minimumAcus: number, maximumAcus: number, ioOptimized: boolean): StackTemplate {
    const path = (id: string) => ({ 'aws:cdk:path': `S/${id}/Resource` });
    return new StackTemplate('S', {
      Resources: {
        Cluster: {
          Type: 'AWS::RDS::DBCluster',
          Properties: {
            Engine: 'aurora-postgresql',
            ServerlessV2ScalingConfiguration: { MinCapacity: minimumAcus, MaxCapacity: maximumAcus },
            ...(ioOptimized ? { StorageType: 'aurora-iopt1' } : {}),
          },
          Metadata: path('Cluster'),
        },
        Writer: { Type: 'AWS::RDS::DBInstance', Properties: { DBClusterIdentifier: { Ref: 'Cluster' }, DBInstanceClass: 'db.serverless', Engine: 'aurora-postgresql' }, Metadata: path('Writer') },
        Reader: { Type: 'AWS::RDS::DBInstance', Properties: { DBClusterIdentifier: { Ref: 'Cluster' }, DBInstanceClass: 'db.serverless', Engine: 'aurora-postgresql' }, Metadata: path('Reader') },
        Proxy: { Type: 'AWS::RDS::DBProxy', Properties: {}, Metadata: path('Proxy') },
        Targets: { Type: 'AWS::RDS::DBProxyTargetGroup', Properties: { DBProxyName: { Ref: 'Proxy' }, DBClusterIdentifiers: [{ Ref: 'Cluster' }] }, Metadata: path('Targets') },
      },
    });
  }

  // Per instance: minimum ACU × 730 h × $0.12 (Aurora Standard) or $0.16 (I/O-Optimized); the proxy: the two
  // instances' minimum ACUs, at least 8, × 730 h × $0.015.
  test.each([
    [0, 1, false, 0, 87.6], [0.5, 2, false, 43.8, 87.6], [2.5, 16, false, 219, 87.6], [4, 64, false, 350.4, 87.6],
    [8, 128, false, 700.8, 175.2], [16, 256, false, 1401.6, 350.4],
    [0.5, 2, true, 58.4, 87.6], [8, 128, true, 934.4, 175.2],
  ])('min %s ACU, max %s ACU, I/O-Optimized %s: each instance costs $%s a month, the proxy $%s', (minimumAcus, maximumAcus, ioOptimized, perInstance, proxy) => {
    const items = costFloor(serverless(minimumAcus, maximumAcus, ioOptimized));
    const instances = items.filter(item => item.item.startsWith('Aurora Serverless v2'));
    expect(instances.map(item => item.price?.name)).toEqual(Array(2).fill(ioOptimized ? 'Aurora Serverless v2 (Aurora I/O-Optimized)' : 'Aurora Serverless v2 (Aurora Standard)'));
    instances.forEach(item => expect(monthlyUsd(item)).toBeCloseTo(perInstance, 6));
    const proxyItem = items.find(item => item.item.startsWith('RDS Proxy'))!;
    expect(proxyItem.quantityText).toBe(`${Math.max(2 * minimumAcus, 8)} ACU × 730 h`);
    expect(monthlyUsd(proxyItem)).toBeCloseTo(proxy, 6);
  });
});
