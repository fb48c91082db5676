import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import {
  DatabaseCapacity, DatabaseEngine, DatabaseFunction, DatabaseNetwork, DatabaseNetworkProps, ProxiedDatabase, ProxiedDatabaseProps,
} from '../lib';
import { addChecks } from '../bin/checks';
import { HANDLER_ENTRY, LOCK_FILE, testApp } from './support/app';
import { findings, synthWithChecks } from './support/checks';

/**
 * Every supported configuration, not only the reference stack, synthesizes
 * with zero unacknowledged findings from every pack: what users get from the
 * constructs is compliant by default.
 */
const variants: Array<[string, DatabaseNetworkProps, Omit<ProxiedDatabaseProps, 'network'>]> = [
  ['Aurora MySQL Serverless v2', {}, { engine: DatabaseEngine.auroraMysql() }],
  ['Aurora PostgreSQL on provisioned instances', {}, { capacity: DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.R6G, ec2.InstanceSize.LARGE)) }],
  ['RDS for PostgreSQL', {}, { engine: DatabaseEngine.postgres() }],
  ['RDS for MySQL', {}, { engine: DatabaseEngine.mysql() }],
  ['end-to-end IAM authentication', {}, { defaultAuthScheme: rds.DefaultAuthScheme.IAM_AUTH }],
  ['a VPC with NAT gateways', { natGateways: 1 }, {}],
];

describe('compliance of every configuration', () => {
  test.each(variants)('%s: zero unacknowledged findings', (_name, networkProps, databaseProps) => {
    const app = testApp();
    const stack = new Stack(app, 'Variant');
    const network = new DatabaseNetwork(stack, 'Network', networkProps);
    const database = new ProxiedDatabase(stack, 'Database', { network, ...databaseProps });
    new DatabaseFunction(stack, 'Fn', { database, databaseUser: 'app_user', entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE });
    addChecks(app);
    expect(findings(synthWithChecks(app))).toEqual([]);
  });
});
