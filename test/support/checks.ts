import * as fs from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';

interface ReportedViolation {
  readonly ruleName: string;
  readonly violatingConstructs: Array<{ readonly constructPath?: string }>;
  readonly acknowledgedId?: string;
  readonly reason?: string;
}

export interface PluginReport {
  readonly pluginName: string;
  readonly conclusion: string;
  readonly violations: ReportedViolation[];
  readonly suppressedViolations?: ReportedViolation[];
}

/** Synthesize an app whose checks are attached and return its validation report (validation-report.json). */
export function synthWithChecks(app: App): PluginReport[] {
  const assembly = app.synth();
  const file = path.join(assembly.directory, 'validation-report.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')).pluginReports : [];
}

/** "plugin: rule at path" for every unacknowledged finding. */
export function findings(reports: PluginReport[]): string[] {
  return reports.flatMap(report => report.violations.flatMap(violation =>
    violation.violatingConstructs.map(resource => `${report.pluginName}: ${violation.ruleName} at ${resource.constructPath}`)));
}

/** Every acknowledged finding with the id it was acknowledged by and the reason. */
export function acknowledgements(reports: PluginReport[]): Array<{ plugin: string; id: string; at: string; reason: string }> {
  return reports.flatMap(report => (report.suppressedViolations ?? []).flatMap(violation =>
    violation.violatingConstructs.map(resource => ({
      plugin: report.pluginName, id: violation.acknowledgedId ?? violation.ruleName, at: resource.constructPath ?? '', reason: violation.reason ?? '',
    }))));
}
