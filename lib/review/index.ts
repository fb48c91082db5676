/**
 * The infrastructure review of any CDK app's cloud assembly, as a library:
 * `import { generateReview, diffAssemblies, reviewOf } from 'cdk-serverless-rds/review'`.
 * The `cdk-serverless-rds review` command is built on the same functions.
 */
export { AcknowledgedFinding, Acknowledgement, AssemblyNotFoundError, AssemblyStack, CloudAssembly, readAssembly } from './assembly';
export { CostItem, costFloor, monthlyUsd, totalUsd, UnpricedResource, unpricedResources } from './cost';
export {
  AcknowledgementChange, AssemblyDiff, CostChange, diffAssemblies, DiffOptions, isStateful, renderDiff, REPLACEMENT_PROPERTIES, ResourceChange,
  SecurityGroupRuleChange, StatementChange,
} from './diff';
export { DIFF_FILE, generateReview, INDEX_FILE, ReviewFile, ReviewOptions, writeReview } from './report';
export { normalizedTemplate, reviewOf } from './snapshot';
export { StackTemplate } from './template';
