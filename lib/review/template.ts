/** A CloudFormation resource as synthesized. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly Condition?: string;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly Parameters?: Record<string, { readonly Default?: unknown }>;
  readonly Conditions?: Record<string, unknown>;
}

/** CDK's bookkeeping resource (analytics), left out of every section. */
const CDK_METADATA_TYPE = 'AWS::CDK::Metadata';

/** Outcome of a condition evaluated with the parameters' defaults; undefined when it depends on something unknown at synth (a pseudo parameter). */
type ConditionValue = boolean | undefined;

/**
 * One stack's template with the questions every section asks of it: which
 * construct path a logical id belongs to, what a property value references,
 * how an intrinsic function reads, and what a condition gives when the stack
 * is deployed with its parameters' defaults.
 */
export class StackTemplate {
  readonly resources: ReadonlyMap<string, CfnResource>;

  /**
   * @param constructPaths construct path of each logical id, from the stack's
   *   `aws:cdk:logicalId` metadata; the template's `aws:cdk:path` resource
   *   metadata is used where absent (apps synthesized outside the CLI have none).
   */
  constructor(readonly stackName: string, private readonly template: CfnTemplate, private readonly constructPaths: ReadonlyMap<string, string> = new Map()) {
    this.resources = new Map(Object.entries(template.Resources ?? {}).filter(([, resource]) => resource.Type !== CDK_METADATA_TYPE));
  }

  /** Logical ids of the resources of a type, in path order. */
  idsOfType(type: string): string[] {
    return this.sortByPath([...this.resources].filter(([, resource]) => resource.Type === type).map(([id]) => id));
  }

  sortByPath(ids: string[]): string[] {
    return [...ids].sort((a, b) => compare(this.pathOf(a), this.pathOf(b)));
  }

  resource(id: string): CfnResource {
    const resource = this.resources.get(id);
    if (!resource) {
      throw new Error(`${this.stackName} has no resource ${id}`);
    }
    return resource;
  }

  properties(id: string): Record<string, unknown> {
    return this.resource(id).Properties ?? {};
  }

  /** The construct path of a resource without its `/Resource` tail, or the logical id when neither metadata nor template name one. */
  pathOf(id: string): string {
    return this.constructPathOf(id).replace(/\/Resource$/, '');
  }

  /** The untrimmed construct path (what acknowledgements are recorded against). */
  constructPathOf(id: string): string {
    const path = this.constructPaths.get(id) ?? this.resources.get(id)?.Metadata?.['aws:cdk:path'];
    return typeof path === 'string' ? path : id;
  }

  /** The resource a value points at: `Ref` or `Fn::GetAtt` of a resource of this template. */
  referencedResource(value: unknown): string | undefined {
    const target = refTarget(value) ?? getAttTarget(value)?.[0];
    return target !== undefined && this.resources.has(target) ? target : undefined;
  }

  /** Every resource a value mentions anywhere inside it, with the property path it was found at. */
  references(value: unknown, at: string[] = []): Array<{ id: string; at: string[] }> {
    const direct = this.referencedResource(value);
    if (direct !== undefined) {
      return [{ id: direct, at }];
    }
    if (Array.isArray(value)) {
      return value.flatMap(item => this.references(item, at));
    }
    if (isObject(value)) {
      return Object.entries(value).flatMap(([key, item]) => this.references(item, key.startsWith('Fn::') ? at : [...at, key]));
    }
    return [];
  }

  /** A value as a reviewer reads it: references become construct paths, joins become strings with `${...}` for tokens. */
  render(value: unknown): string {
    return this.renderValue(value, false);
  }

  private renderValue(value: unknown, embedded: boolean): string {
    const token = (text: string): string => (embedded ? `\${${text}}` : text);
    if (typeof value === 'string') {
      return value;
    }
    if (typeof value === 'number' || typeof value === 'boolean') {
      return String(value);
    }
    if (Array.isArray(value)) {
      return `[${value.map(item => this.renderValue(item, false)).join(', ')}]`;
    }
    if (!isObject(value)) {
      return String(value);
    }
    const ref = refTarget(value);
    if (ref !== undefined) {
      // Parameters and pseudo parameters read as CloudFormation writes them in Fn::Sub, so they never look like a literal.
      return this.resources.has(ref) ? token(this.pathOf(ref)) : `\${${ref}}`;
    }
    const getAtt = getAttTarget(value);
    if (getAtt !== undefined) {
      const [id, attribute] = getAtt;
      return token(`${this.resources.has(id) ? this.pathOf(id) : id}.${attribute}`);
    }
    const join = value['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return join[1].map(part => this.renderValue(part, true)).join(join[0]);
    }
    const sub = value['Fn::Sub'];
    if (typeof sub === 'string') {
      return sub;
    }
    if (Array.isArray(sub) && typeof sub[0] === 'string') {
      const variables = Object.entries(isObject(sub[1]) ? sub[1] : {}).map(([name, v]) => `${name}=${this.renderValue(v, false)}`);
      return variables.length ? `${sub[0]} (${variables.join(', ')})` : sub[0];
    }
    const [fn, args] = Object.entries(value)[0] ?? ['', undefined];
    if (Object.keys(value).length === 1 && fn.startsWith('Fn::')) {
      const list = Array.isArray(args) ? args : [args];
      return token(`${fn}(${list.map(arg => (typeof arg === 'string' ? JSON.stringify(arg) : this.renderValue(arg, false))).join(', ')})`);
    }
    return `{${Object.entries(value).map(([key, v]) => `${key}: ${this.renderValue(v, false)}`).join(', ')}}`;
  }

  /** True when the resource exists with the parameters' defaults (its condition, if any, is true or unknown). */
  existsByDefault(id: string): boolean {
    const condition = this.resource(id).Condition;
    return condition === undefined || this.evaluateCondition(condition) !== false;
  }

  /**
   * The value with every `Fn::If` chosen as the parameters' defaults choose it.
   * A condition that cannot be evaluated at synth takes its true branch: the
   * review then shows the configuration that costs or grants more.
   */
  resolveDefaults(value: unknown): unknown {
    if (Array.isArray(value)) {
      return value.map(item => this.resolveDefaults(item));
    }
    if (!isObject(value)) {
      return value;
    }
    const fnIf = value['Fn::If'];
    if (Array.isArray(fnIf) && typeof fnIf[0] === 'string') {
      const chosen = this.evaluateCondition(fnIf[0]) === false ? fnIf[2] : fnIf[1];
      return isNoValue(chosen) ? undefined : this.resolveDefaults(chosen);
    }
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.resolveDefaults(item)]).filter(([, item]) => item !== undefined));
  }

  evaluateCondition(name: string): ConditionValue {
    return this.evaluate(this.template.Conditions?.[name]);
  }

  private evaluate(expression: unknown): ConditionValue {
    if (!isObject(expression)) {
      return undefined;
    }
    if ('Condition' in expression && typeof expression.Condition === 'string') {
      return this.evaluateCondition(expression.Condition);
    }
    const args = (key: string): unknown[] => (Array.isArray(expression[key]) ? expression[key] as unknown[] : []);
    if ('Fn::Equals' in expression) {
      const [left, right] = args('Fn::Equals').map(arg => this.literal(arg));
      return left === undefined || right === undefined ? undefined : left === right;
    }
    if ('Fn::Not' in expression) {
      const inner = this.evaluate(args('Fn::Not')[0]);
      return inner === undefined ? undefined : !inner;
    }
    if ('Fn::And' in expression || 'Fn::Or' in expression) {
      const isAnd = 'Fn::And' in expression;
      const values = args(isAnd ? 'Fn::And' : 'Fn::Or').map(arg => this.evaluate(arg));
      const decisive = !isAnd;
      if (values.includes(decisive)) {
        return decisive;
      }
      return values.includes(undefined) ? undefined : !decisive;
    }
    return undefined;
  }

  /** A literal, or the default of a parameter; undefined for pseudo parameters and functions. */
  literal(value: unknown): string | undefined {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      return String(value);
    }
    const ref = refTarget(value);
    const defaultValue = ref !== undefined ? this.template.Parameters?.[ref]?.Default : undefined;
    return defaultValue === undefined ? undefined : String(defaultValue);
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function refTarget(value: unknown): string | undefined {
  return isObject(value) && typeof value.Ref === 'string' ? value.Ref : undefined;
}

function getAttTarget(value: unknown): [string, string] | undefined {
  if (!isObject(value)) {
    return undefined;
  }
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') {
    return [getAtt[0], String(getAtt[1])];
  }
  if (typeof getAtt === 'string' && getAtt.includes('.')) {
    const [id, ...attribute] = getAtt.split('.');
    return [id, attribute.join('.')];
  }
  return undefined;
}

function isNoValue(value: unknown): boolean {
  return refTarget(value) === 'AWS::NoValue';
}

/** A list property as a list (CloudFormation accepts a single value where a list is expected, e.g. IAM Action). */
export function asList(value: unknown): unknown[] {
  if (value === undefined) {
    return [];
  }
  return Array.isArray(value) ? value : [value];
}

/** Locale-independent string order, so the output is the same on every machine. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sorted(values: Iterable<string>): string[] {
  return [...values].sort(compare);
}

export function unique(values: Iterable<string>): string[] {
  return sorted(new Set(values));
}
