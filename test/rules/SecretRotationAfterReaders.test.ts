import { CustomResource, Duration } from 'aws-cdk-lib';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { findingsOf, pathsFlagged, plainProxyStack } from './support';
import { inlineFunction } from '../support/app';

const RULE = 'SecretRotationAfterReaders';

/** A secret with a rotation schedule and a custom resource that reads it, the way a database bootstrap does. */
function secretWithReader(options: { rotateImmediatelyOnUpdate?: boolean; attach?: boolean; readerReads?: boolean } = {}) {
  const { stack, instance } = plainProxyStack();
  const secret = new secretsmanager.Secret(stack, 'UserSecret', { generateSecretString: { secretStringTemplate: '{"username":"app"}', generateStringKey: 'password' } });
  const rotated: secretsmanager.ISecret = options.attach ? secret.attach(instance) : secret;
  const rotation = inlineFunction(stack, 'Rotation');
  const schedule = new secretsmanager.RotationSchedule(stack, 'Schedule', {
    secret: rotated,
    rotationLambda: rotation,
    automaticallyAfter: Duration.days(30),
    rotateImmediatelyOnUpdate: options.rotateImmediatelyOnUpdate,
  });
  const reader = new CustomResource(stack, 'Bootstrap', {
    serviceToken: inlineFunction(stack, 'Provider').functionArn,
    resourceType: 'Custom::Bootstrap',
    properties: { Secret: options.readerReads === false ? 'none' : rotated.secretArn },
  });
  return { stack, schedule, reader, instance };
}

describe('DeployReadiness-SecretRotationAfterReaders', () => {
  test('flags a schedule that rotates immediately while a custom resource reading the secret is not ordered before it', () => {
    const { stack } = secretWithReader();
    expect(findingsOf(stack, RULE)).toEqual([expect.objectContaining({
      path: 'Test/Schedule/Resource',
      description: expect.stringContaining('Test/Bootstrap/Default'),
    })]);
  });

  test('flags it when the reader uses the secret through its target attachment', () => {
    const { stack } = secretWithReader({ attach: true });
    expect(pathsFlagged(stack, RULE)).toEqual(['Test/Schedule/Resource']);
  });

  test('passes a schedule that depends on the reader', () => {
    const { stack, schedule, reader } = secretWithReader({ attach: true });
    schedule.node.addDependency(reader);
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('passes a schedule that waits for the reader through another resource', () => {
    const { stack, schedule, reader } = secretWithReader();
    const between = inlineFunction(stack, 'Between');
    between.node.addDependency(reader);
    schedule.node.addDependency(between);
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('passes a schedule that does not rotate immediately', () => {
    const { stack } = secretWithReader({ rotateImmediatelyOnUpdate: false });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('passes when no custom resource reads the secret', () => {
    const { stack } = secretWithReader({ readerReads: false });
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });

  test('passes aws-cdk-lib\'s rotation of a database secret that no custom resource reads', () => {
    const { stack, instance } = plainProxyStack();
    (instance as rds.DatabaseInstance).addRotationSingleUser();
    expect(pathsFlagged(stack, RULE)).toEqual([]);
  });
});
