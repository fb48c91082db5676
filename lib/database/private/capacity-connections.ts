import { Token } from 'aws-cdk-lib';
import { instanceDefaultMaxConnections, minimumProxyPercentForInstanceClass, serverlessV2DefaultMaxConnections } from '../../private/max-connections';
import { DatabaseCapacity } from '../capacity';
import { DatabaseEngine } from '../engine';

/**
 * The engine's default `max_connections` for the given capacity, or
 * undefined when it cannot be known at synth (a token, or an instance class
 * missing from the tables).
 */
export function defaultMaxConnections(engine: DatabaseEngine, capacity: DatabaseCapacity): number | undefined {
  return capacity.isServerless
    ? serverlessV2DefaultMaxConnections(engine.family, capacity.minCapacity!, capacity.maxCapacity!)
    : instanceDefaultMaxConnections(engine.family, engine.isAurora, capacity.instanceType!.toString());
}

/**
 * The lowest `MaxConnectionsPercent` AWS recommends for RDS Proxy on a
 * database's capacity, or undefined for Serverless v2 and token instance
 * classes.
 */
export function minimumProxyPercent(capacity: DatabaseCapacity): number | undefined {
  if (capacity.isServerless) {
    return undefined;
  }
  const instanceClass = capacity.instanceType!.toString();
  return Token.isUnresolved(instanceClass) ? undefined : minimumProxyPercentForInstanceClass(instanceClass);
}
