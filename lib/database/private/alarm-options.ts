import { IConstruct } from 'constructs';
import { DatabaseAlarmOptions } from '../../monitoring/alarm-options';
import { requireResolved, validateNumber } from '../../private/validation';

/**
 * Throws when a threshold of the database alarms is out of range, or is a
 * token where the construct computes the threshold from it at synth.
 */
export function validateDatabaseAlarmOptions(scope: IConstruct, options: DatabaseAlarmOptions): void {
  requireResolved(scope, 'alarms.connectionsPercentOfMax', options.connectionsPercentOfMax,
    'the DatabaseConnections alarm\'s threshold, that share of max_connections computed at synth');
  requireResolved(scope, 'alarms.borrowLatency', options.borrowLatency,
    'the ProxyBorrowLatency alarm\'s threshold, converted at synth to the microseconds that RDS Proxy reports');
  for (const prop of ['cpuUtilizationPercent', 'connectionsPercentOfMax', 'availabilityPercent'] as const) {
    validateNumber(scope, { prop: `alarms.${prop}`, value: options[prop], min: 1, max: 100 });
  }
  validateNumber(scope, { prop: 'alarms.pinnedConnections', value: options.pinnedConnections, min: 1, max: 1_000_000, integer: true });
  const latency = options.borrowLatency;
  validateNumber(scope, {
    prop: 'alarms.borrowLatency', value: latency && !latency.isUnresolved() ? latency.toMilliseconds() : undefined, min: 1, max: 300_000, unit: ' ms',
  });
}
