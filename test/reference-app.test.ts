import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildReferenceApp } from '../bin/reference-app';
import { acknowledgements, findings, synthWithChecks } from './support/checks';
import { testApp } from './support/app';

/** Asset hashes change with every dependency bump; the snapshot is about infrastructure. */
function normalized(template: unknown): unknown {
  return JSON.parse(JSON.stringify(template).replace(/[0-9a-f]{64}/g, '<asset hash>'));
}

describe('reference app', () => {
  // One synth with real bundling and every check attached serves all the tests below.
  const app = testApp({ bundling: true });
  const { api } = buildReferenceApp(app);
  const pluginReports = synthWithChecks(app);
  const template = Template.fromStack(api);

  test('passes every check with zero unacknowledged findings', () => {
    expect(findings(pluginReports)).toEqual([]);
  });

  test('records each acknowledged finding in the report with its reason', () => {
    const acknowledged = acknowledgements(pluginReports);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const entry of acknowledged) {
      expect(entry.reason.length).toBeGreaterThan(60);
    }
    expect(acknowledged.map(entry => entry.id)).toEqual(expect.arrayContaining([
      'HIPAA.Security::HIPAA.Security-IAMNoInlinePolicy',
      'cdk-validator-cfnguard::lambda_function_public_access_prohibited_check',
    ]));
  });

  test('shares Hyperplane ENIs: two for the functions, two for the rotation function', () => {
    expect(api.network.hyperplaneEniCount).toBe(4);
  });

  test('the HTTP API uses IAM authorization, access logs and throttling', () => {
    template.allResourcesProperties('AWS::ApiGatewayV2::Route', { AuthorizationType: 'AWS_IAM' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"') },
    });
  });

  test('matches the template snapshot', () => {
    expect(normalized(template.toJSON())).toMatchSnapshot();
  });
});
