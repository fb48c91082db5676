import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { DatabaseCapacity, DatabaseEngine, DatabaseFunction, DatabaseNetwork, ProxiedDatabase, ProxiedDatabaseProps } from '../../lib';
import { RdsProxyChecks } from '../../lib/rules';
import { HANDLER_ENTRY, inlineFunction, LOCK_FILE, testApp } from '../support/app';
import { acknowledgements, findings, synthWithChecks } from '../support/checks';
import { cfnProxy, rdsProxyFindings } from './support';

const reportOnly = { context: { '@aws-cdk/core:failSynthOnValidationErrors': false } };

/** A proxy, a client and a function written carelessly enough to break every rule of the pack. */
function carelessStack(app: App): Stack {
  const stack = new Stack(app, 'Careless');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC }] });
  const instance = new rds.DatabaseInstance(stack, 'Database', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16_4 }),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM),
  });
  const proxy = new rds.DatabaseProxy(stack, 'Proxy', {
    proxyTarget: rds.ProxyTarget.fromInstance(instance), secrets: [instance.secret!], vpc, vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC }, debugLogging: true,
  });
  cfnProxy(proxy).requireTls = undefined;
  inlineFunction(stack, 'Client', { environment: { DATABASE_HOST: proxy.endpoint, DATABASE_PASSWORD: 'hunter2' } });
  return stack;
}

describe('RdsProxyChecks as a validation plugin', () => {
  test('reports every rule on a careless composition at synth', () => {
    const app = testApp(reportOnly);
    carelessStack(app);
    Validations.of(app).addPlugins(new RdsProxyChecks(app));

    expect(findings(synthWithChecks(app)).filter(line => line.startsWith('RdsProxy:')).sort()).toEqual([
      'RdsProxy: RdsProxy-FunctionEnvironmentHasNoPassword at Careless/Client/Resource',
      'RdsProxy: RdsProxy-ProxyBorrowTimeoutBelowFunctionTimeout at Careless/Proxy/ProxyTargetGroup',
      'RdsProxy: RdsProxy-ProxyDebugLoggingOff at Careless/Proxy/Resource',
      'RdsProxy: RdsProxy-ProxyIAMAuthRequired at Careless/Proxy/Resource',
      'RdsProxy: RdsProxy-ProxyInPrivateSubnets at Careless/Proxy/Resource',
      'RdsProxy: RdsProxy-ProxyPoolWithinEngineGuidance at Careless/Proxy/ProxyTargetGroup',
      'RdsProxy: RdsProxy-ProxyTLSRequired at Careless/Proxy/Resource',
    ]);
  });

  test('fails synth by default when a rule finds something', () => {
    const app = testApp();
    carelessStack(app);
    Validations.of(app).addPlugins(new RdsProxyChecks(app));
    expect(() => app.synth()).toThrow(/RdsProxy-ProxyDebugLoggingOff/);
  });

  test('an acknowledgement with the RdsProxy:: prefix moves a finding to the acknowledged ones', () => {
    const app = testApp(reportOnly);
    const stack = carelessStack(app);
    const reason = 'Debug logging stays on for one day while the team traces a pinning problem.';
    Validations.of(stack.node.findChild('Proxy')).acknowledge({ id: 'RdsProxy::RdsProxy-ProxyDebugLoggingOff', reason });
    Validations.of(app).addPlugins(new RdsProxyChecks(app));

    const reports = synthWithChecks(app);
    expect(findings(reports)).not.toContain('RdsProxy: RdsProxy-ProxyDebugLoggingOff at Careless/Proxy/Resource');
    expect(acknowledgements(reports)).toContainEqual({ plugin: 'RdsProxy', id: 'RdsProxy::RdsProxy-ProxyDebugLoggingOff', at: 'Careless/Proxy/Resource', reason });
  });

  const ownDatabases: Array<[string, Omit<ProxiedDatabaseProps, 'network'>]> = [
    ['Aurora PostgreSQL Serverless v2', {}],
    ['RDS for MySQL on a provisioned db.t4g.medium', {
      engine: DatabaseEngine.mysql(), capacity: DatabaseCapacity.provisioned(ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM)),
    }],
    ['Aurora PostgreSQL Serverless v2 with end-to-end IAM authentication', { defaultAuthScheme: rds.DefaultAuthScheme.IAM_AUTH }],
  ];
  test.each(ownDatabases)('this library\'s defaults pass the pack: %s with a DatabaseFunction and a connected plain function', (_name, databaseProps) => {
    const app = testApp(reportOnly);
    const stack = new Stack(app, 'Own');
    const network = new DatabaseNetwork(stack, 'Network');
    const database = new ProxiedDatabase(stack, 'Database', { network, ...databaseProps });
    new DatabaseFunction(stack, 'Fn', { database, databaseUser: 'app_user', externallyManagedDatabaseUser: true, entry: HANDLER_ENTRY, depsLockFilePath: LOCK_FILE });
    database.connectFunction(inlineFunction(stack, 'Plain', {
      timeout: Duration.seconds(6), vpc: network.vpc, vpcSubnets: network.functionSubnets, securityGroups: [network.functionSecurityGroup],
    }), 'report_user');
    const checks = new RdsProxyChecks(app);
    const validateScope = jest.spyOn(checks, 'validateScope');
    Validations.of(app).addPlugins(checks);

    expect(findings(synthWithChecks(app)).filter(line => line.startsWith('RdsProxy:'))).toEqual([]);
    // The report file leaves out plugins without findings: the spy shows the pack did run on the app.
    expect(validateScope.mock.calls).toEqual([[app]]);
    expect(validateScope.mock.results[0].value).toEqual({ success: true, violations: [] });
  });
});

describe('RdsProxyChecks report', () => {
  test('reports each violating resource with the details found on it', () => {
    const stack = carelessStack(testApp());
    const vpc = stack.node.findChild('Vpc') as ec2.Vpc;
    const instance = stack.node.findChild('Database') as rds.DatabaseInstance;
    new rds.DatabaseProxy(stack, 'SmallPool', {
      proxyTarget: rds.ProxyTarget.fromInstance(instance), secrets: [instance.secret!], vpc, iamAuth: true, maxConnectionsPercent: 30, borrowTimeout: Duration.seconds(1),
    });

    const pool = rdsProxyFindings(stack).filter(finding => finding.rule === 'RdsProxy-ProxyPoolWithinEngineGuidance');
    expect(pool).toEqual([
      expect.objectContaining({ path: 'Careless/Proxy/ProxyTargetGroup', description: expect.stringContaining('MaxConnectionsPercent 100 (the default when absent) is above 90') }),
      expect.objectContaining({ path: 'Careless/SmallPool/ProxyTargetGroup', description: expect.stringContaining('MaxConnectionsPercent 30 is below 55, the minimum for db.t4g.medium') }),
    ]);
    expect(pool[1].description).not.toContain('above 90');
  });

  test('puts the explanation after the info in verbose mode', () => {
    const stack = carelessStack(testApp());
    const [tls] = new RdsProxyChecks(undefined, { verbose: true }).validateScope(stack).violations.filter(v => v.ruleName === 'RdsProxy-ProxyTLSRequired');
    expect(tls.description).toMatch(/^The RDS Proxy does not require TLS .*Set `requireTLS: true` on `rds.DatabaseProxy`/);
  });
});
