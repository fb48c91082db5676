import { Aws, CfnCondition, Duration, Fn, ICfnConditionExpression, Stack, Token, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/**
 * The Regions where Aurora MySQL offers backtracking, from the AWS table
 * "Supported Regions and Aurora DB engines for backtracking". Creating a
 * cluster with a backtrack window fails everywhere else (Cape Town, Hong
 * Kong, Milan, Stockholm, Bahrain, São Paulo, the China and GovCloud
 * Regions, and the Regions opened since), so the default turns backtracking
 * on only here: a Region added later defaults to off until it is listed.
 *
 * @see https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.Aurora_Fea_Regions_DB-eng.Feature.Backtrack.html
 */
export const BACKTRACK_REGIONS: readonly string[] = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2',
  'ap-south-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2',
  'ca-central-1',
  'eu-central-1', 'eu-west-1', 'eu-west-2', 'eu-west-3',
];

/** Fn::Or takes 2 to 10 conditions. */
const MAX_OR_CONDITIONS = 10;

/**
 * The default backtrack window of an Aurora MySQL cluster: `window` where the
 * stack's Region offers backtracking, none elsewhere. A stack with a literal
 * Region gets the answer at synth; an environment-agnostic stack gets a
 * condition on `AWS::Region` that CloudFormation evaluates at deploy time.
 */
export function regionalBacktrackWindow(scope: Construct, window: Duration): Duration | undefined {
  const region = Stack.of(scope).region;
  if (!Token.isUnresolved(region)) {
    if (BACKTRACK_REGIONS.includes(region)) {
      return window;
    }
    Validations.of(scope).acknowledge({
      id: 'AwsSolutions::AwsSolutions-RDS14',
      reason: `Aurora offers no backtracking in ${region}, and a cluster with a backtrack window fails to create there; point-in-time restore covers recovery.`,
    });
    return undefined;
  }
  Validations.of(scope).acknowledge({
    id: 'AwsSolutions::AwsSolutions-RDS14',
    reason: 'Backtracking is on (24 hours) in every Region that offers it, through a condition on AWS::Region that the rule cannot evaluate; '
      + 'elsewhere a backtrack window fails the create, and point-in-time restore covers recovery.',
  });
  const offered = new CfnCondition(scope, 'BacktrackOffered', {
    expression: anyOf(BACKTRACK_REGIONS.map(name => Fn.conditionEquals(Aws.REGION, name))),
  });
  return Duration.seconds(Token.asNumber(Fn.conditionIf(offered.logicalId, window.toSeconds(), Aws.NO_VALUE)));
}

function anyOf(conditions: ICfnConditionExpression[]): ICfnConditionExpression {
  if (conditions.length === 1) {
    return conditions[0];
  }
  if (conditions.length <= MAX_OR_CONDITIONS) {
    return Fn.conditionOr(...conditions);
  }
  const groups: ICfnConditionExpression[] = [];
  for (let start = 0; start < conditions.length; start += MAX_OR_CONDITIONS) {
    groups.push(anyOf(conditions.slice(start, start + MAX_OR_CONDITIONS)));
  }
  return anyOf(groups);
}
