import { DatabaseEngine } from '../lib/database/engine';
import { instanceClassesOf } from '../lib/database/private/instance-classes';
import { dbInstanceHour, dbInstanceVcpus } from '../lib/private/prices';

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
    'aurora-postgresql': ['db.r6g.large', 'db.r7g.large', 'db.t3.large', 'db.t4g.medium'],
    'aurora-mysql': ['db.r4.8xlarge', 'db.r4.large', 'db.r6g.large', 'db.r7g.large', 'db.t3.large', 'db.t3.medium', 'db.t3.small', 'db.t4g.medium'],
    'postgres': ['db.t3.large', 'db.t4g.medium', 'db.t4g.micro', 'db.t4g.small'],
    'mysql': ['db.m5.large', 'db.t3.large', 'db.t3.micro', 'db.t3.small', 'db.t4g.small'],
    'mariadb': ['db.t3.large'],
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
    expect(dbInstanceHour('mariadb', 'db.t4g.small')).toBeUndefined();
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
