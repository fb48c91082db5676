import { IConstruct } from 'constructs';
import { FunctionAlarmOptions } from '../../monitoring/alarm-options';
import { requireResolved, validateNumber } from '../../private/validation';

/**
 * Throws when a threshold of the function alarms is out of range, or is a
 * token where the construct computes the threshold from it at synth.
 */
export function validateFunctionAlarmOptions(scope: IConstruct, options: FunctionAlarmOptions): void {
  requireResolved(scope, 'alarms.durationPercentOfTimeout', options.durationPercentOfTimeout,
    'the Duration alarm\'s threshold, that share of the timeout computed at synth');
  requireResolved(scope, 'alarms.concurrencyPercentOfReserved', options.concurrencyPercentOfReserved,
    'the Concurrency alarm\'s threshold, that share of the reserved concurrency computed at synth');
  for (const prop of ['errorRatePercent', 'durationPercentOfTimeout', 'concurrencyPercentOfReserved', 'provisionedSpilloverPercent'] as const) {
    validateNumber(scope, { prop: `alarms.${prop}`, value: options[prop], min: 1, max: 100 });
  }
  validateNumber(scope, { prop: 'alarms.provisionedUtilization', value: options.provisionedUtilization, min: 0.01, max: 1 });
  for (const prop of ['throttles', 'asyncFailures', 'failureQueueMessages'] as const) {
    validateNumber(scope, { prop: `alarms.${prop}`, value: options[prop], min: 1, max: 1_000_000, integer: true });
  }
}
