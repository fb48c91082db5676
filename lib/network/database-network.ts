import { Annotations, Arn, ArnFormat, Aspects, Aws, CfnResource, IAspect, RemovalPolicy, Stack, Stage, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';
import { acknowledgeInlinePolicies, acknowledgeInPacks } from '../private/acknowledgements';
import { eniCombinations, placementOf } from '../private/eni-placement';
import { createKey } from '../private/keys';
import { PropValidationError, requireResolved, validateNumber } from '../private/validation';

/**
 * Properties of a DatabaseNetwork.
 */
export interface DatabaseNetworkProps {
  /**
   * An existing VPC to place functions, proxy and database in. The network
   * then creates no flow log and, unless asked, no endpoints: both belong to
   * whoever owns the VPC.
   *
   * @default - a new VPC: isolated subnets in two Availability Zones, no NAT
   * gateway, flow logs on, and the interface endpoints in `interfaceEndpoints`
   */
  readonly vpc?: ec2.IVpc;

  /**
   * The subnets every function of the app uses. One selection for all
   * functions is what lets them share Hyperplane ENIs.
   *
   * @default - the VPC's private subnets with egress if it has any, else its
   * isolated subnets
   */
  readonly functionSubnets?: ec2.SubnetSelection;

  /**
   * The subnets for the proxy and the database.
   *
   * @default - the VPC's isolated subnets if it has any, else its private
   * subnets with egress
   */
  readonly databaseSubnets?: ec2.SubnetSelection;

  /**
   * How many Availability Zones a new VPC spans (RDS and RDS Proxy need at
   * least two). Only for a VPC this construct creates.
   *
   * @default 2
   */
  readonly maxAzs?: number;

  /**
   * NAT gateways for a new VPC. With 0, functions reach AWS services only
   * through the interface endpoints; with more, the VPC gets public subnets
   * and functions move to private subnets with egress. Only for a VPC this
   * construct creates.
   *
   * @default 0
   */
  readonly natGateways?: number;

  /**
   * The IP range of a new VPC. Only for a VPC this construct creates.
   *
   * @default ec2.IpAddresses.cidr('10.0.0.0/16')
   */
  readonly ipAddresses?: ec2.IIpAddresses;

  /**
   * Interface endpoints to create, reachable on 443 from the shared function
   * security group (and from security groups passed to `allowEndpointAccess`).
   * Secrets Manager serves the admin secret's rotation function.
   *
   * @default - Secrets Manager for a new VPC; none for an existing VPC
   */
  readonly interfaceEndpoints?: ec2.InterfaceVpcEndpointAwsService[];

  /**
   * Retention of the VPC flow log and the default retention of the log groups
   * that constructs in this network create.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * The KMS key that encrypts the log groups of this network and of the
   * constructs placed in it.
   *
   * @default - a new customer-managed key with rotation on
   */
  readonly logEncryptionKey?: kms.IKey;
}

/**
 * The placement every function of a network uses.
 */
export interface FunctionPlacement {
  /** The VPC. */
  readonly vpc: ec2.IVpc;
  /** The shared subnets. */
  readonly subnets: ec2.SubnetSelection;
  /** The shared security group. */
  readonly securityGroup: ec2.ISecurityGroup;
}

/**
 * The network placement of an app's functions, proxy and database.
 *
 * It either creates a VPC made for Lambda next to a database (isolated
 * subnets, no NAT, flow logs, interface endpoints) or takes an existing one.
 * It hands every function the same security group and subnets, so that all
 * functions share the same Hyperplane ENIs (one per subnet and security group
 * combination), and it warns at synth about any function in its VPC that
 * breaks that sharing.
 */
export class DatabaseNetwork extends Construct {
  /** Warning id for a function that does not use the shared placement. */
  public static readonly ENI_SHARING_WARNING = 'cdk-serverless-rds:BreaksEniSharing';

  /** The VPC. */
  public readonly vpc: ec2.IVpc;
  /** The subnets every function uses. */
  public readonly functionSubnets: ec2.SubnetSelection;
  /** The subnets the proxy and database use. */
  public readonly databaseSubnets: ec2.SubnetSelection;
  /** The one security group every function of the app uses. It allows no traffic until a function connects somewhere. */
  public readonly functionSecurityGroup: ec2.ISecurityGroup;
  /** The KMS key for log groups. */
  public readonly logEncryptionKey: kms.IKey;
  /** Default retention of log groups created in this network. */
  public readonly logRetention: logs.RetentionDays;
  /** The flow log, when this construct created the VPC. */
  public readonly flowLog?: ec2.FlowLog;
  /** The interface endpoints this construct created. */
  public readonly interfaceEndpoints: ec2.InterfaceVpcEndpoint[];

  private readonly endpointServices = new Set<string>();

  constructor(scope: Construct, id: string, props: DatabaseNetworkProps = {}) {
    super(scope, id);
    this.validateProps(props);

    this.logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    this.logEncryptionKey = props.logEncryptionKey ?? this.createLogKey();

    if (props.vpc) {
      this.vpc = props.vpc;
    } else {
      this.vpc = this.createVpc(props);
      this.flowLog = this.createFlowLog();
    }

    this.functionSubnets = this.resolveSubnets('functionSubnets', props.functionSubnets, [
      ec2.SubnetType.PRIVATE_WITH_EGRESS, ec2.SubnetType.PRIVATE_ISOLATED]);
    this.databaseSubnets = this.resolveSubnets('databaseSubnets', props.databaseSubnets, [
      ec2.SubnetType.PRIVATE_ISOLATED, ec2.SubnetType.PRIVATE_WITH_EGRESS]);

    this.functionSecurityGroup = new ec2.SecurityGroup(this, 'FunctionSecurityGroup', {
      vpc: this.vpc,
      description: 'Shared by every database function of the app so they share Hyperplane ENIs',
      allowAllOutbound: false,
    });

    const endpoints = props.interfaceEndpoints ?? (props.vpc ? [] : [ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER]);
    this.interfaceEndpoints = endpoints.map(service => this.createEndpoint(service));
    this.allowEndpointAccess(this.functionSecurityGroup);

    Aspects.of(Stage.of(this) ?? this.node.root).add(new EniSharingCheck(this));
  }

  /**
   * How many unique (subnet, security group set) combinations the functions
   * of the whole app use in this network's VPC: Lambda creates one
   * Hyperplane ENI for each. Call it after all functions are defined.
   */
  public get hyperplaneEniCount(): number {
    const vpcSubnets = new Set([...this.vpc.publicSubnets, ...this.vpc.privateSubnets, ...this.vpc.isolatedSubnets].map(subnet => subnet.subnetId));
    return [...eniCombinations(Stage.of(this) ?? this.node.root)].filter(combination => vpcSubnets.has(combination.split('|')[0])).length;
  }

  /**
   * The placement every function should use: the shared subnets and security
   * group.
   */
  public get functionPlacement(): FunctionPlacement {
    return { vpc: this.vpc, subnets: this.functionSubnets, securityGroup: this.functionSecurityGroup };
  }

  /**
   * Allow a security group (a rotation function, a task) to reach the
   * interface endpoints on 443.
   */
  public allowEndpointAccess(peer: ec2.IConnectable): void {
    for (const endpoint of this.interfaceEndpoints) {
      peer.connections.allowTo(endpoint, ec2.Port.tcp(443), 'HTTPS to an AWS service interface endpoint');
    }
  }

  /** True when this network created an interface endpoint for the service. */
  public hasInterfaceEndpoint(service: ec2.InterfaceVpcEndpointAwsService): boolean {
    return this.endpointServices.has(service.name);
  }

  private validateProps(props: DatabaseNetworkProps): void {
    if (props.vpc) {
      for (const prop of ['maxAzs', 'natGateways', 'ipAddresses'] as const) {
        if (props[prop] !== undefined) {
          throw new PropValidationError(this,
            `${prop} applies only to a VPC this construct creates, but vpc was given: configure ${prop} on that VPC or remove it`);
        }
      }
    }
    requireResolved(this, 'maxAzs', props.maxAzs, 'how many subnets the VPC gets');
    requireResolved(this, 'natGateways', props.natGateways, 'how many NAT gateways and public subnets the VPC gets');
    validateNumber(this, { prop: 'maxAzs', value: props.maxAzs, min: 2, max: 6, integer: true });
    validateNumber(this, { prop: 'natGateways', value: props.natGateways, min: 0, max: props.maxAzs ?? 2, integer: true });
  }

  private createLogKey(): kms.Key {
    const key = createKey(this, 'LogKey', 'Encrypts the CloudWatch log groups of the database network, proxy and functions');
    // CloudWatch Logs encrypts with the key on behalf of log groups of this account and Region only.
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowCloudWatchLogsForThisAccountLogGroups',
      principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': Arn.format({
            service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }, Stack.of(this)),
        },
      },
    }));
    return key;
  }

  private createVpc(props: DatabaseNetworkProps): ec2.Vpc {
    const natGateways = props.natGateways ?? 0;
    const subnetConfiguration: ec2.SubnetConfiguration[] = natGateways > 0
      ? [
        // Only the NAT gateways live here; they use Elastic IPs, so nothing needs an automatic public IP.
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'Functions', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        { name: 'Database', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ]
      : [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }];
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: props.ipAddresses ?? ec2.IpAddresses.cidr('10.0.0.0/16'),
      maxAzs: props.maxAzs ?? 2,
      natGateways,
      subnetConfiguration,
      restrictDefaultSecurityGroup: true,
    });
    this.hardenDefaultSecurityGroupProvider();
    for (const subnet of vpc.publicSubnets) {
      acknowledgeInPacks(subnet, ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'], 'VPCNoUnrestrictedRouteToIGW',
        'Public subnets exist only when natGateways > 0 and hold only the NAT gateways, whose default route to the internet gateway is how functions reach the internet; functions, proxy and database may not be placed in them (checked at synth).');
    }
    return vpc;
  }

  /**
   * `restrictDefaultSecurityGroup` removes the rules of the VPC's default
   * security group with a stack-wide aws-cdk-lib provider function. Out of
   * the box its role carries the AWS managed AWSLambdaBasicExecutionRole
   * (logs on every log group) and it logs to an unencrypted group kept
   * forever. Here it logs to an encrypted group with retention, and its role
   * may write to that group only.
   */
  private hardenDefaultSecurityGroupProvider(): void {
    const provider = Stack.of(this).node.tryFindChild('Custom::VpcRestrictDefaultSGCustomResourceProvider');
    if (!provider || provider.node.tryFindChild('LogGroup')) {
      return;
    }
    const role = provider.node.findChild('Role') as CfnResource;
    const handler = provider.node.findChild('Handler') as CfnResource;
    const logGroup = new logs.LogGroup(provider, 'LogGroup', {
      retention: this.logRetention,
      encryptionKey: this.logEncryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    role.addPropertyDeletionOverride('ManagedPolicyArns');
    const policy = new iam.CfnPolicy(provider, 'LogPolicy', {
      policyName: 'WriteOwnLogGroup',
      roles: [role.ref],
      policyDocument: new iam.PolicyDocument({
        statements: [new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] })],
      }),
    });
    handler.addPropertyOverride('LoggingConfig', { LogGroup: logGroup.logGroupName });
    handler.addResourceDependency(policy);
    acknowledgeInlinePolicies(policy);
    Validations.of(provider).acknowledge({
      id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
      reason: 'aws-cdk-lib\'s deploy-time provider that removes the rules of the VPC\'s default security group. It only calls the EC2 API, reads no data, and runs during deployments only; inside this VPC (no NAT, no EC2 endpoint) it could not reach the EC2 API.',
    });
  }

  private createFlowLog(): ec2.FlowLog {
    const logGroup = new logs.LogGroup(this, 'FlowLogGroup', {
      retention: this.logRetention,
      encryptionKey: this.logEncryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const flowLog = new ec2.FlowLog(this, 'FlowLog', {
      resourceType: ec2.FlowLogResourceType.fromVpc(this.vpc),
      destination: ec2.FlowLogDestination.toCloudWatchLogs(logGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
    acknowledgeInlinePolicies(flowLog);
    return flowLog;
  }

  private resolveSubnets(prop: string, selection: ec2.SubnetSelection | undefined, preference: ec2.SubnetType[]): ec2.SubnetSelection {
    const wanted = selection ?? { subnetType: preference.find(type => this.hasSubnets(type)) ?? preference[0] };
    const selected = this.vpc.selectSubnets(wanted);
    const publicIds = new Set(this.vpc.publicSubnets.map(subnet => subnet.subnetId));
    const publicSubnet = selected.subnets.find(subnet => publicIds.has(subnet.subnetId));
    if (publicSubnet) {
      throw new PropValidationError(this,
        `${prop} selects a public subnet (${publicSubnet.node.path}): functions, proxy and database belong in private or isolated subnets; select SubnetType.PRIVATE_ISOLATED or PRIVATE_WITH_EGRESS`);
    }
    const zones = new Set(selected.subnets.map(subnet => subnet.availabilityZone));
    const zonesKnown = selected.subnets.every(subnet => !Token.isUnresolved(subnet.availabilityZone));
    if (zonesKnown && zones.size < 2) {
      throw new PropValidationError(this,
        `${prop} covers ${zones.size} Availability Zone(s) (${[...zones].join(', ') || 'none'}): RDS and RDS Proxy need subnets in at least 2; select subnets in two or more zones`);
    }
    return { subnets: selected.subnets };
  }

  private hasSubnets(type: ec2.SubnetType): boolean {
    switch (type) {
      case ec2.SubnetType.PRIVATE_ISOLATED:
        return this.vpc.isolatedSubnets.length > 0;
      case ec2.SubnetType.PRIVATE_WITH_EGRESS:
        return this.vpc.privateSubnets.length > 0;
      default:
        return this.vpc.publicSubnets.length > 0;
    }
  }

  private createEndpoint(service: ec2.InterfaceVpcEndpointAwsService): ec2.InterfaceVpcEndpoint {
    const id = `${service.shortName.replace(/[^A-Za-z0-9]/g, '')}Endpoint`;
    // An endpoint only answers; its security group needs no outbound rules.
    const securityGroup = new ec2.SecurityGroup(this, `${id}SecurityGroup`, {
      vpc: this.vpc,
      description: `${service.shortName} interface endpoint: HTTPS from the functions that need it`,
      allowAllOutbound: false,
    });
    const endpoint = new ec2.InterfaceVpcEndpoint(this, id, {
      vpc: this.vpc,
      service,
      subnets: this.functionSubnets,
      privateDnsEnabled: true,
      open: false,
      securityGroups: [securityGroup],
    });
    this.endpointServices.add(service.name);
    return endpoint;
  }
}

/** Warns about functions in the network's VPC that do not use its shared placement. */
class EniSharingCheck implements IAspect {
  private readonly vpcSubnets: Set<string>;
  private readonly sharedSubnets: Set<string>;

  constructor(private readonly network: DatabaseNetwork) {
    const vpc = network.vpc;
    this.vpcSubnets = new Set([...vpc.isolatedSubnets, ...vpc.privateSubnets, ...vpc.publicSubnets].map(subnet => subnet.subnetId));
    this.sharedSubnets = new Set(vpc.selectSubnets(network.functionSubnets).subnetIds);
  }

  public visit(node: IConstruct): void {
    const placement = placementOf(node);
    if (!placement || !placement.subnetIds.some(id => this.vpcSubnets.has(id))) {
      return;
    }
    const extra = placement.subnetIds.filter(id => !this.sharedSubnets.has(id)).length;
    const sameGroups = placement.securityGroupKey === this.network.functionSecurityGroup.securityGroupId;
    if (sameGroups && extra === 0) {
      return;
    }
    const added = sameGroups ? extra : placement.subnetIds.length;
    const what = sameGroups ? 'subnets outside the shared function subnets' : 'security groups other than the shared function security group';
    Annotations.of(node).addWarningV2(DatabaseNetwork.ENI_SHARING_WARNING,
      `This function uses ${what} of ${this.network.node.path}, so Lambda creates ${added} more Hyperplane ENI(s) for it `
      + '(one per subnet and security group combination). Use network.functionSecurityGroup and network.functionSubnets, '
      + `or acknowledge '${DatabaseNetwork.ENI_SHARING_WARNING}' if the function needs its own placement.`);
  }
}
