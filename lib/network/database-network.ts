import { Annotations, Arn, ArnFormat, Aspects, Aws, CfnResource, IAspect, RemovalPolicy, Stack, Stage, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';
import { acknowledgeInPacks } from '../private/acknowledgements';
import { createLibraryCustomResource } from '../private/custom-resource';
import { ManagedPolicyRole } from '../private/managed-policy-role';
import { eniCombinations, placementOf } from './private/eni-placement';
import { createKey } from '../private/keys';
import { gatewayEndpointFor, gatewayEndpointName, interfaceEndpointFor, interfaceEndpointNames, ServiceCall, servicesCalledBy } from '../private/service-endpoints';
import { PropValidationError, requireProps, requireResolved, validateNumber } from '../private/validation';
import { allowsHttpsToInternet } from '../private/security-groups';

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
   * gateway, flow logs on, and the interface endpoints its functions need
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
   * through VPC endpoints; with more, the VPC gets public subnets and
   * functions move to private subnets with egress. Either way functions reach
   * AWS services through endpoints: the shared security group gets no
   * internet egress unless a function asks for it
   * (`fn.connections.allowToAnyIpv4(ec2.Port.tcp(443))`). Only for a VPC this
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
   * Interface endpoints to create in addition to the ones the network creates
   * for its functions (in a VPC it creates), for other resources that call
   * AWS services: reach them with `allowServiceAccess`. The shared function
   * security group reaches an endpoint only when a function that uses it
   * calls the service.
   *
   * @default - only the endpoints the functions and the secret rotation need,
   * and in an existing VPC none
   */
  readonly interfaceEndpoints?: ec2.InterfaceVpcEndpointAwsService[];

  /**
   * Interface endpoints the existing VPC already has, with private DNS on.
   * Functions and `allowServiceAccess` use them instead of creating new ones:
   * their security group gets egress to the endpoint's security groups on
   * 443 and, when those were imported mutable, an ingress rule on them.
   *
   * @default - none
   */
  readonly existingInterfaceEndpoints?: ExistingInterfaceEndpoint[];

  /**
   * Gateway endpoints (S3, DynamoDB) for functions that call those services.
   * Unlike interface endpoints, they are never created unasked: a security
   * group reaches them only through the service's prefix list, whose id
   * CloudFormation cannot look up.
   *
   * @default - none
   */
  readonly gatewayEndpoints?: GatewayEndpoint[];

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
 * An interface endpoint that an existing VPC already has.
 */
export interface ExistingInterfaceEndpoint {
  /** The AWS service it serves, such as `ec2.InterfaceVpcEndpointAwsService.SSM`. */
  readonly service: ec2.InterfaceVpcEndpointAwsService;

  /**
   * The endpoint, such as `ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(scope, 'Ssm', { vpcEndpointId, port: 443, securityGroups })`.
   */
  readonly endpoint: ec2.IInterfaceVpcEndpoint;
}

/**
 * A gateway endpoint for functions that call S3 or DynamoDB.
 */
export interface GatewayEndpoint {
  /** `ec2.GatewayVpcEndpointAwsService.S3` or `ec2.GatewayVpcEndpointAwsService.DYNAMODB`. */
  readonly service: ec2.GatewayVpcEndpointAwsService;

  /**
   * The id of the service's AWS-managed prefix list in the stack's Region
   * (`aws ec2 describe-managed-prefix-lists --filters Name=prefix-list-name,Values=com.amazonaws.<region>.dynamodb`),
   * which the security groups of the functions that call the service get 443
   * egress to. A `CfnParameter` keeps an environment-agnostic stack deployable
   * in every Region.
   */
  readonly prefixListId: string;

  /**
   * The gateway endpoint an existing VPC already routes the function subnets
   * through.
   *
   * @default - a new gateway endpoint on the route tables of the function subnets
   */
  readonly endpoint?: ec2.IGatewayVpcEndpoint;
}

/**
 * The network placement of an app's functions, proxy and database.
 *
 * It either creates a VPC made for Lambda next to a database (isolated
 * subnets, no NAT, flow logs) or takes an existing one. It hands every
 * function the same security group and subnets, so that all functions share
 * the same Hyperplane ENIs (one per subnet and security group combination),
 * and it warns at synth about any function in its VPC that breaks that
 * sharing.
 *
 * At synth it reads which AWS services the functions with the shared
 * security group call (their roles' policies, without what Lambda does for
 * them: logs, X-Ray, ENIs, destinations, dead-letter queues, event sources)
 * and lets the security group reach exactly those services' endpoints on
 * 443, creating each interface endpoint once, in a VPC it created. A
 * function that calls a service it cannot reach fails synth.
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
  /**
   * The interface endpoints this construct created: the listed ones at once,
   * the ones functions need at synth.
   */
  public readonly interfaceEndpoints: ec2.InterfaceVpcEndpoint[] = [];
  /** The gateway endpoints this construct created. */
  public readonly gatewayEndpoints: ec2.GatewayVpcEndpoint[] = [];

  /** Whether missing interface endpoints are created (only in a VPC this construct owns). */
  private readonly createsEndpoints: boolean;
  /** Every interface endpoint functions may use (created or declared), by service short name. */
  private readonly interfaceEndpointsByName = new Map<string, ec2.IInterfaceVpcEndpoint>();
  /** Every gateway endpoint functions may use, by service name (`s3`, `dynamodb`). */
  private readonly gatewayRoutes = new Map<string, { readonly endpoint: ec2.IVpcEndpoint; readonly prefixListId: string }>();
  /** What must exist before a function with a given security group (by id) runs: the endpoints it reaches and their rules. */
  private readonly prerequisitesBySecurityGroup = new Map<string, Set<IConstruct>>();
  /** Security group id and endpoint name pairs already connected. */
  private readonly connected = new Set<string>();

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

    this.createsEndpoints = props.vpc === undefined;
    for (const existing of props.existingInterfaceEndpoints ?? []) {
      this.interfaceEndpointsByName.set(existing.service.shortName, existing.endpoint);
    }
    for (const service of props.interfaceEndpoints ?? []) {
      this.createInterfaceEndpoint(service);
    }
    for (const gateway of props.gatewayEndpoints ?? []) {
      this.addGatewayEndpoint(gateway);
    }

    const app = Stage.of(this) ?? this.node.root;
    Aspects.of(app).add(new EniSharingCheck(this));
    Aspects.of(app).add({ visit: node => this.reachCalledServices(node) });
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
   * Let a security group (a rotation function, a task) reach one AWS service
   * on 443 through its interface endpoint, which the network creates once in
   * a VPC it created. Functions placed with that security group deploy after
   * the endpoint and the rules.
   *
   * @returns false, changing nothing, when the network has no endpoint for
   * the service and may not create one (an existing VPC that does not declare
   * it in `existingInterfaceEndpoints` or list it in `interfaceEndpoints`)
   */
  public allowServiceAccess(peer: ec2.IConnectable, service: ec2.InterfaceVpcEndpointAwsService): boolean {
    return this.reachInterfaceEndpoint(peer, service.shortName, service);
  }

  /** True when functions of this network can use an interface endpoint for the service: created or declared. */
  public hasInterfaceEndpoint(service: ec2.InterfaceVpcEndpointAwsService): boolean {
    return this.interfaceEndpointsByName.has(service.shortName);
  }

  private validateProps(props: DatabaseNetworkProps): void {
    (props.existingInterfaceEndpoints ?? []).forEach((existing, index) => requireProps(this, existing,
      { service: 'the AWS service it serves', endpoint: 'the endpoint, an ec2.IInterfaceVpcEndpoint' }, `existingInterfaceEndpoints[${index}]`));
    (props.gatewayEndpoints ?? []).forEach((gateway, index) => requireProps(this, gateway,
      { service: 'S3 or DynamoDB', prefixListId: 'the pl- id of the service\'s prefix list' }, `gatewayEndpoints[${index}]`));
    if (props.vpc) {
      for (const prop of ['maxAzs', 'natGateways', 'ipAddresses'] as const) {
        if (props[prop] !== undefined) {
          throw new PropValidationError(this,
            `${prop} applies only to a VPC this construct creates, but vpc was given: configure ${prop} on that VPC or remove it`);
        }
      }
    }
    if (!props.vpc && props.existingInterfaceEndpoints?.length) {
      throw new PropValidationError(this,
        'existingInterfaceEndpoints declares endpoints of an existing VPC, but no vpc was given: list the services in interfaceEndpoints, or pass the VPC that has them as vpc');
    }
    const declared = [
      ...(props.interfaceEndpoints ?? []).map(service => service.shortName),
      ...(props.existingInterfaceEndpoints ?? []).map(existing => existing.service.shortName),
      ...(props.gatewayEndpoints ?? []).map(gateway => gatewayEndpointName(gateway.service)),
    ];
    const twice = declared.find((name, index) => declared.indexOf(name) !== index);
    if (twice !== undefined) {
      throw new PropValidationError(this,
        `the ${twice} endpoint is listed more than once across interfaceEndpoints, existingInterfaceEndpoints and gatewayEndpoints: keep one (a VPC has one endpoint per service)`);
    }
    for (const gateway of props.gatewayEndpoints ?? []) {
      if (!Token.isUnresolved(gateway.prefixListId) && !/^pl-[0-9a-f]{8,17}$/.test(gateway.prefixListId)) {
        throw new PropValidationError(this,
          `gatewayEndpoints: prefixListId '${gateway.prefixListId}' of ${gatewayEndpointName(gateway.service)} is not a prefix list id: pass the pl-... id of com.amazonaws.<region>.${gatewayEndpointName(gateway.service)} (aws ec2 describe-managed-prefix-lists)`);
      }
      if (gateway.endpoint && !props.vpc) {
        throw new PropValidationError(this,
          `gatewayEndpoints: the ${gatewayEndpointName(gateway.service)} entry names an existing endpoint, but no vpc was given: leave endpoint out so the network creates one, or pass the VPC that has it as vpc`);
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
      restrictDefaultSecurityGroup: false,
    });
    this.restrictDefaultSecurityGroup(vpc);
    for (const subnet of vpc.publicSubnets) {
      acknowledgeInPacks(subnet, ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'], 'VPCNoUnrestrictedRouteToIGW',
        'Public subnets exist only when natGateways > 0 and hold only the NAT gateways, whose default route to the internet gateway is how functions reach the internet; functions, proxy and database may not be placed in them (checked at synth).');
    }
    return vpc;
  }

  /**
   * Removes the rules of the VPC's default security group, so that nothing
   * placed in the VPC without a security group of its own can talk to
   * anything, with the stack's custom resource function rather than
   * aws-cdk-lib's `restrictDefaultSecurityGroup` (a second function with a
   * managed-policy role and a log group kept forever). The construct id and
   * resource type are aws-cdk-lib's, which cdk-nag's
   * VPCDefaultSecurityGroupClosed rule looks for.
   */
  private restrictDefaultSecurityGroup(vpc: ec2.Vpc): void {
    const stack = Stack.of(this);
    createLibraryCustomResource(vpc, 'RestrictDefaultSecurityGroupCustomResource', {
      resourceType: 'Custom::VpcRestrictDefaultSG',
      properties: { DefaultSecurityGroupId: vpc.vpcDefaultSecurityGroup, Account: stack.account },
      permissions: [new iam.PolicyStatement({
        actions: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:AuthorizeSecurityGroupEgress', 'ec2:RevokeSecurityGroupIngress', 'ec2:RevokeSecurityGroupEgress'],
        resources: [stack.formatArn({ service: 'ec2', resource: 'security-group', resourceName: vpc.vpcDefaultSecurityGroup })],
      })],
      logRetention: this.logRetention,
      logEncryptionKey: this.logEncryptionKey,
    });
  }

  private createFlowLog(): ec2.FlowLog {
    const logGroup = new logs.LogGroup(this, 'FlowLogGroup', {
      retention: this.logRetention,
      encryptionKey: this.logEncryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new ManagedPolicyRole(this, 'FlowLogRole', {
      assumedBy: new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com'),
      description: `Flow log of ${this.node.path}`,
    });
    const flowLog = new ec2.FlowLog(this, 'FlowLog', {
      resourceType: ec2.FlowLogResourceType.fromVpc(this.vpc),
      destination: ec2.FlowLogDestination.toCloudWatchLogs(logGroup, role),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
    // The first records are delivered as soon as the flow log exists: its role's policies must be attached by then.
    flowLog.node.addDependency(role);
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

  private createInterfaceEndpoint(service: ec2.InterfaceVpcEndpointAwsService): ec2.InterfaceVpcEndpoint {
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
    this.interfaceEndpoints.push(endpoint);
    this.interfaceEndpointsByName.set(service.shortName, endpoint);
    return endpoint;
  }

  private addGatewayEndpoint(gateway: GatewayEndpoint): void {
    const name = gatewayEndpointName(gateway.service);
    let endpoint = gateway.endpoint;
    if (!endpoint) {
      const created = new ec2.GatewayVpcEndpoint(this, `${name.replace(/[^A-Za-z0-9]/g, '')}GatewayEndpoint`, {
        vpc: this.vpc,
        service: gateway.service,
        subnets: [this.functionSubnets],
      });
      this.gatewayEndpoints.push(created);
      endpoint = created;
    }
    this.gatewayRoutes.set(name, { endpoint, prefixListId: gateway.prefixListId });
  }

  /**
   * Open the peer's path to an endpoint once, and remember what functions
   * with the peer's security groups must wait for: the endpoint, its security
   * groups and the peer's own (which hold the new rules).
   */
  private connect(peer: ec2.IConnectable, endpointName: string, endpoint: IConstruct, prerequisites: IConstruct[], open: () => void): void {
    const groups = peer.connections.securityGroups;
    const key = `${groups.map(group => group.securityGroupId).sort().join(',')}|${endpointName}`;
    if (this.connected.has(key)) {
      return;
    }
    this.connected.add(key);
    open();
    for (const group of groups) {
      const waitFor = this.prerequisitesBySecurityGroup.get(group.securityGroupId) ?? new Set<IConstruct>();
      [endpoint, ...prerequisites, ...groups].forEach(construct => waitFor.add(construct));
      this.prerequisitesBySecurityGroup.set(group.securityGroupId, waitFor);
    }
  }

  /**
   * For a function with the shared security group: reach every service it
   * calls, or fail synth naming what is missing. For any function or
   * rotation application whose security group was given service access:
   * deploy after the endpoints and rules, so that nothing it runs while the
   * stack deploys (a custom resource, a first rotation, provisioned
   * concurrency) starts before its route exists.
   */
  private reachCalledServices(node: IConstruct): void {
    if (!(node instanceof CfnResource)) {
      return;
    }
    const placement = placementOf(node);
    if (!placement) {
      return;
    }
    const groupIds = placement.securityGroupKey.split(',');
    if (node instanceof lambda.CfnFunction && groupIds.includes(this.functionSecurityGroup.securityGroupId)) {
      servicesCalledBy(node).forEach(call => this.openPathFromFunctions(call.prefix));
      // Judged when the app is validated, after every aspect: a rule added later (443 egress for NAT) counts.
      node.node.addValidation({
        validate: () => servicesCalledBy(node).filter(call => !this.functionsReach(call.prefix))
          .map(call => this.unreachableMessage(node.node.scope ?? node, call)),
      });
    }
    for (const groupId of groupIds) {
      for (const prerequisite of this.prerequisitesBySecurityGroup.get(groupId) ?? []) {
        node.node.addDependency(prerequisite);
      }
    }
  }

  /** Open the shared function security group's path to a service's endpoint, creating an interface endpoint when the network may. */
  private openPathFromFunctions(prefix: string): void {
    const gateway = gatewayEndpointFor(prefix);
    if (gateway) {
      const name = gatewayEndpointName(gateway.service);
      const route = this.gatewayRoutes.get(name);
      if (route) {
        this.connect(this.functionSecurityGroup, name, route.endpoint, [], () => this.functionSecurityGroup.addEgressRule(
          ec2.Peer.prefixList(route.prefixListId), ec2.Port.tcp(443), `HTTPS to ${name} through its gateway endpoint`));
      }
      return;
    }
    const known = interfaceEndpointFor(prefix);
    const name = interfaceEndpointNames(prefix).find(candidate => this.interfaceEndpointsByName.has(candidate)) ?? known?.service.shortName;
    if (name !== undefined) {
      this.reachInterfaceEndpoint(this.functionSecurityGroup, name, known?.service);
    }
  }

  /** True when the functions with the shared security group reach the service: through an endpoint of the network, or a NAT route. */
  private functionsReach(prefix: string): boolean {
    const gateway = gatewayEndpointFor(prefix);
    const throughEndpoint = gateway
      ? this.gatewayRoutes.has(gatewayEndpointName(gateway.service))
      : interfaceEndpointNames(prefix).some(name => this.interfaceEndpointsByName.has(name));
    return throughEndpoint || this.hasNatEgress();
  }

  /**
   * Open the peer's path to the interface endpoint with this short name,
   * creating it from `service` when the network may; false when there is none.
   */
  private reachInterfaceEndpoint(peer: ec2.IConnectable, name: string, service?: ec2.InterfaceVpcEndpointAwsService): boolean {
    const endpoint = this.interfaceEndpointsByName.get(name)
      ?? (service && this.createsEndpoints ? this.createInterfaceEndpoint(service) : undefined);
    if (!endpoint) {
      return false;
    }
    this.connect(peer, name, endpoint, endpoint.connections.securityGroups,
      () => peer.connections.allowTo(endpoint, ec2.Port.tcp(443), `HTTPS to the ${name} interface endpoint`));
    return true;
  }

  /** True when every function subnet routes to the internet and the shared security group allows 443 out to it. */
  private hasNatEgress(): boolean {
    const withEgress = new Set(this.vpc.privateSubnets.map(subnet => subnet.subnetId));
    return this.vpc.selectSubnets(this.functionSubnets).subnetIds.every(id => withEgress.has(id))
      && allowsHttpsToInternet(this.functionSecurityGroup.node.defaultChild as ec2.CfnSecurityGroup);
  }

  private unreachableMessage(fn: IConstruct, call: ServiceCall): string {
    const gateway = gatewayEndpointFor(call.prefix);
    const known = interfaceEndpointFor(call.prefix);
    let fix: string;
    if (gateway) {
      const name = gatewayEndpointName(gateway.service);
      fix = `add { service: ${gateway.code}, prefixListId: <the pl- id of com.amazonaws.<region>.${name}> } to the network's gatewayEndpoints `
        + '(with endpoint: when the VPC already has one)';
    } else if (known) {
      fix = `declare the VPC's ${known.service.shortName} endpoint in the network's existingInterfaceEndpoints, or list ${known.code} in its interfaceEndpoints to create one`;
    } else {
      fix = `no VPC endpoint is known to serve '${call.prefix}': list one named '${call.prefix}' in the network's interfaceEndpoints or existingInterfaceEndpoints, `
        + 'or give the function subnets a NAT route and the functions 443 egress (fn.connections.allowToAnyIpv4(ec2.Port.tcp(443)))';
    }
    return `${fn.node.path} calls ${call.prefix} (${call.actions.join(', ')}) but cannot reach it: ${this.node.path} has no ${call.prefix} endpoint `
      + `and its function subnets no NAT route with 443 egress; ${fix}`;
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
