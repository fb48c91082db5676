import { Annotations, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { SynthChecks } from '../lib';
import { testApp } from './support/app';
import { checkedStack, FixedFindings, staleAcknowledgements, synthWithChecks } from './support/checks';

describe('staleAcknowledgements', () => {
  test('lists an acknowledgement that suppresses no finding with its path, id and reason', () => {
    const app = testApp();
    const stack = checkedStack(app);
    const used = new Construct(stack, 'Used');
    const unused = new Construct(stack, 'Unused');
    Validations.of(used).acknowledge({ id: 'Fixed::rule_one', reason: 'Suppresses the finding on Used.' });
    Validations.of(unused).acknowledge({ id: 'Fixed::rule_one', reason: 'Nothing under Unused is found.' });
    Validations.of(used).acknowledge({ id: 'Fixed::rule_two', reason: 'No plugin reports rule_two.' });
    SynthChecks.attach(app, { plugins: [new FixedFindings([used])] });

    expect(staleAcknowledgements(app, synthWithChecks(app))).toEqual([
      'Checked/Used: Fixed::rule_two (No plugin reports rule_two.)',
      'Checked/Unused: Fixed::rule_one (Nothing under Unused is found.)',
    ]);
  });

  test('counts an acknowledged warning as used when it is raised at or under the acknowledgement, before or after it', () => {
    const app = testApp();
    const stack = checkedStack(app);
    const before = new Construct(stack, 'Before');
    Annotations.of(new Construct(before, 'Child')).addWarningV2('test:Risky', 'A risky setting.');
    Validations.of(before).acknowledge({ id: 'test:Risky', reason: 'Raised in the subtree before the acknowledgement.' });
    const after = new Construct(stack, 'After');
    Validations.of(after).acknowledge({ id: 'test:Risky', reason: 'Raised after the acknowledgement.' });
    Annotations.of(after).addWarningV2('test:Risky', 'A risky setting.');
    const elsewhere = new Construct(stack, 'Elsewhere');
    Validations.of(elsewhere).acknowledge({ id: 'test:Risky', reason: 'Only raised on other constructs.' });

    expect(staleAcknowledgements(app, synthWithChecks(app))).toEqual(['Checked/Elsewhere: Annotation::test:Risky (Only raised on other constructs.)']);
  });

  test('leaves out what aws-cdk-lib\'s constructs acknowledge themselves', () => {
    const app = testApp();
    const stack = checkedStack(app);
    // The VPC acknowledges a CloudFormation rule on its stack whether or not the stack has literal Availability Zones.
    new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0, subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    const reports = synthWithChecks(app);
    expect(stack.node.metadata.filter(entry => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)).not.toEqual([]);
    expect(staleAcknowledgements(app, reports)).toEqual([]);
  });
});
