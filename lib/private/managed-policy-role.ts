import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { isTracingStatement, SharedFunctionPolicies } from './shared-function-policies';

/** IAM's limit on one customer managed policy document, counted without whitespace. */
export const MANAGED_POLICY_MAX_CHARS = 6_144;

/** IAM's default quota of managed policies attached to one role (adjustable up to 20 per account). */
export const MANAGED_POLICIES_PER_ROLE = 10;

/** What a policy document adds around its statements: `{"Version":"2012-10-17","Statement":[]}`. */
const DOCUMENT_OVERHEAD_CHARS = JSON.stringify({ Version: '2012-10-17', Statement: [] }).length;

/**
 * Longest value a reference can take once CloudFormation resolves it. ARNs
 * and names of resources (CloudFormation-generated names included) stay well
 * below the default; the pseudo parameters have known bounds.
 */
const RESOLVED_REFERENCE_CHARS = 256;
const RESOLVED_PSEUDO_PARAMETER_CHARS: { [name: string]: number } = {
  'AWS::Partition': 16,
  'AWS::Region': 20,
  'AWS::AccountId': 12,
  'AWS::URLSuffix': 20,
  'AWS::NoValue': 0,
};

/**
 * A role whose permissions live in customer managed policies
 * (`AWS::IAM::ManagedPolicy`) that belong to it, not in an inline policy:
 * every statement added through `addToPrincipalPolicy` (which aws-cdk-lib's
 * `grant*` methods call) lands in the role's own managed policies. They are
 * children of the role, so whatever depends on the role (a function, and
 * through it its event source mappings and custom resources) is created
 * after them; CloudFormation names them, so two deployments of one stack
 * never collide.
 *
 * A statement goes into the last policy while the policy's document stays
 * within IAM's 6,144 characters, counting each reference at the longest value
 * it can resolve to, and into a new policy otherwise: the split is
 * deterministic and every policy deploys. Synth fails when the role would
 * need more managed policies than IAM's default quota per role.
 *
 * The tracing statement that `lambda.Function` adds for active tracing goes
 * to the stack's shared X-Ray policy instead (see `SharedFunctionPolicies`).
 */
export class ManagedPolicyRole extends iam.Role {
  private readonly permissionPolicies: iam.ManagedPolicy[] = [];
  private readonly addedManagedPolicies: iam.IManagedPolicy[] = [];
  private lastPolicyChars = 0;

  constructor(scope: Construct, id: string, props: iam.RoleProps) {
    super(scope, id, props);
    this.node.addValidation({
      validate: () => {
        const count = this.managedPolicyCount;
        return count > MANAGED_POLICIES_PER_ROLE
          ? [`${this.node.path} needs ${count} managed policies (${this.permissionPolicies.length} of its own, ${this.addedManagedPolicies.length} shared), more than IAM's default quota of `
            + `${MANAGED_POLICIES_PER_ROLE} per role: grant on fewer, broader resources (one grant per table or queue group instead of one per item) or split the work over several functions`]
          : [];
      },
    });
  }

  /** The managed policies attached to the role through it: its own and the shared ones. */
  public get managedPolicyCount(): number {
    return this.permissionPolicies.length + this.addedManagedPolicies.length;
  }

  public override addManagedPolicy(policy: iam.IManagedPolicy): void {
    if (!this.addedManagedPolicies.includes(policy)) {
      this.addedManagedPolicies.push(policy);
      super.addManagedPolicy(policy);
    }
  }

  public override addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    if (isTracingStatement(this, statement)) {
      return { statementAdded: true, policyDependable: SharedFunctionPolicies.of(this).attachXrayTracing(this) };
    }
    const chars = deployedChars(this, statement);
    if (DOCUMENT_OVERHEAD_CHARS + chars > MANAGED_POLICY_MAX_CHARS) {
      throw new Error(`${this.node.path}: one policy statement takes up to ${chars} characters once deployed, more than a managed policy holds (${MANAGED_POLICY_MAX_CHARS}): split it into statements on fewer resources`);
    }
    let policy = this.permissionPolicies[this.permissionPolicies.length - 1];
    const separatorChars = policy ? 1 : 0;
    if (!policy || DOCUMENT_OVERHEAD_CHARS + this.lastPolicyChars + separatorChars + chars > MANAGED_POLICY_MAX_CHARS) {
      policy = new iam.ManagedPolicy(this, `Policy${this.permissionPolicies.length + 1}`, {
        description: `Permissions of ${this.node.path}`,
        roles: [this],
      });
      this.permissionPolicies.push(policy);
      this.lastPolicyChars = chars;
    } else {
      this.lastPolicyChars += separatorChars + chars;
    }
    policy.addStatements(statement);
    return { statementAdded: true, policyDependable: policy };
  }
}

/**
 * The characters a statement takes in a deployed policy document: the larger
 * of its synthesized JSON and its JSON with every reference replaced by the
 * longest value it can resolve to.
 */
function deployedChars(scope: Construct, statement: iam.PolicyStatement): number {
  const resolved = Stack.of(scope).resolve(statement.toStatementJson());
  return Math.max(JSON.stringify(resolved).length, JSON.stringify(withResolvedReferences(resolved)).length);
}

function withResolvedReferences(node: unknown): unknown {
  if (Array.isArray(node)) {
    return node.map(withResolvedReferences);
  }
  if (node === null || typeof node !== 'object') {
    return node;
  }
  const record = node as { [key: string]: any };
  const keys = Object.keys(record);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
    return 'x'.repeat(resolvedChars(record));
  }
  return Object.fromEntries(keys.map(key => [key, withResolvedReferences(record[key])]));
}

function resolvedChars(intrinsic: { [key: string]: any }): number {
  if (typeof intrinsic.Ref === 'string') {
    return RESOLVED_PSEUDO_PARAMETER_CHARS[intrinsic.Ref] ?? RESOLVED_REFERENCE_CHARS;
  }
  const join = intrinsic['Fn::Join'];
  if (Array.isArray(join) && Array.isArray(join[1])) {
    const parts = (join[1] as unknown[]).map(part => typeof part === 'string' ? part.length : resolvedChars(part as { [key: string]: any }));
    return parts.reduce((sum, part) => sum + part, 0) + String(join[0]).length * Math.max(parts.length - 1, 0);
  }
  return RESOLVED_REFERENCE_CHARS;
}
