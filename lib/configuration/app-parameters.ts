import { Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { levels, MAX_NAME_LEVELS, validateParameterPath } from '../private/parameter-store';
import { PropValidationError, requireProps } from '../private/validation';

/**
 * Properties of AppParameters.
 */
export interface AppParametersProps {
  /**
   * The Parameter Store path that holds the app's shared settings, such as
   * `/orders-service`: a slash, then segments of letters, digits, `.`, `-`
   * and `_` separated by slashes, no trailing slash, at most 14 segments
   * (a parameter's full name has at most 15, its own name included).
   */
  readonly path: string;

  /**
   * Settings to create under the path, by name relative to it (`max-limit`
   * becomes `/orders-service/max-limit`). Values are plain, non-secret
   * strings; keep secrets in Secrets Manager.
   *
   * @default - no parameters are created (manage them outside the stack)
   */
  readonly values?: { [name: string]: string };
}

const NAME = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;
/** Parameter Store's limit on a parameter name, including the path. */
const MAX_NAME_LENGTH = 1011;
/** Standard-tier parameters hold at most 4 KB. */
const MAX_VALUE_BYTES = 4096;

/**
 * Non-secret settings that several functions of an app share, in SSM
 * Parameter Store under one path. Functions read them at runtime with
 * caching (the runtime's `appParameters()`, built on Powertools parameters);
 * `grantRead` allows `ssm:GetParametersByPath` on exactly this path and
 * nothing else. Per-function settings belong in environment variables.
 */
export class AppParameters extends Construct {
  /** The path, e.g. `/orders-service`. */
  public readonly path: string;
  /** The parameters this construct created, by name relative to the path. */
  public readonly parameters: { [name: string]: ssm.StringParameter };

  constructor(scope: Construct, id: string, props: AppParametersProps) {
    super(scope, id);
    requireProps(this, props, { path: 'the Parameter Store path of the settings, e.g. \'/orders-service\'' });
    this.path = props.path;
    validateParameterPath(this, 'path', props.path, 'the parameter names and the ARN that grantRead allows');
    const pathLevels = levels(props.path);
    this.parameters = {};
    const keysById = new Map<string, string>();
    for (const [name, value] of Object.entries(props.values ?? {})) {
      const parameterName = `${props.path}/${name}`;
      if (!NAME.test(name) || parameterName.length > MAX_NAME_LENGTH) {
        throw new PropValidationError(this,
          `values key '${name}' is not a valid parameter name: use letters, digits, '.', '-' or '_' (segments may be separated by '/'), at most ${MAX_NAME_LENGTH} characters with the path`);
      }
      if (levels(parameterName) > MAX_NAME_LEVELS) {
        throw new PropValidationError(this,
          `values key '${name}' makes '${parameterName}' ${levels(parameterName)} levels deep, above the ${MAX_NAME_LEVELS} that Parameter Store allows: `
          + `use at most ${MAX_NAME_LEVELS - pathLevels} levels in the key, or fewer in path`);
      }
      if (!Token.isUnresolved(value) && (value === '' || Buffer.byteLength(value, 'utf8') > MAX_VALUE_BYTES)) {
        throw new PropValidationError(this, `values['${name}'] must hold 1 to ${MAX_VALUE_BYTES} bytes (a standard parameter), not ${Buffer.byteLength(value, 'utf8')}`);
      }
      const id = name.replace(/\//g, '-');
      const clash = keysById.get(id);
      if (clash !== undefined) {
        throw new PropValidationError(this, `values keys '${clash}' and '${name}' both become construct id '${id}': rename one of them`);
      }
      keysById.set(id, name);
      this.parameters[name] = new ssm.StringParameter(this, id, {
        parameterName,
        stringValue: value,
        description: 'Shared setting of the app (AppParameters)',
        tier: ssm.ParameterTier.STANDARD,
      });
    }
  }

  /**
   * Allow reading every parameter under the path (recursively, which
   * `GetParametersByPath` authorizes on the path itself), and nothing else.
   */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['ssm:GetParametersByPath'],
      resourceArns: [Stack.of(this).formatArn({ service: 'ssm', resource: 'parameter', resourceName: this.path.slice(1) })],
    });
  }
}
