import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** A versioned SQL migration read from the migrations folder. */
export interface Migration {
  /** The numeric prefix, as written ('0001'). */
  readonly version: string;
  /** The file name ('0001_create_items.sql'). */
  readonly name: string;
  /** SHA-256 of the SQL, hex: a migration changed after it was applied fails the deploy. */
  readonly checksum: string;
  readonly sql: string;
}

/** What a migration file is called: a four-digit version, an underscore, a name (NNNN_name.sql). */
export const MIGRATION_FILE = /^(\d{4})_[A-Za-z0-9_-]+\.sql$/;

/**
 * The migrations in `folder`, in version order. Throws with the fix when the
 * folder is missing or empty, when a file is not named like a migration, or
 * when two files share a version. Hidden files (editor and OS metadata) are
 * skipped.
 */
export function readMigrations(folder: string, prop = 'migrationsPath'): Migration[] {
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) {
    throw new Error(`${prop} ('${folder}') is not a folder: point it at the folder that holds your NNNN_name.sql files`);
  }
  const names = fs.readdirSync(folder).filter(name => !name.startsWith('.'));
  const migrations: Migration[] = [];
  const byVersion = new Map<number, string>();
  for (const name of names) {
    const match = MIGRATION_FILE.exec(name);
    if (!match) {
      throw new Error(`${prop} contains '${name}', which is not named like a migration: name migrations NNNN_name.sql, like 0001_create_items.sql (four digits, an underscore, letters, digits, _ or -, then .sql), and keep other files elsewhere`);
    }
    const version = Number(match[1]);
    const clash = byVersion.get(version);
    if (clash !== undefined) {
      throw new Error(`${prop} has two migrations with version ${match[1]}: '${clash}' and '${name}'; give each migration its own version number`);
    }
    byVersion.set(version, name);
    const sql = fs.readFileSync(path.join(folder, name), 'utf8');
    if (sql.trim() === '') {
      throw new Error(`${prop} contains '${name}', which is empty: write its SQL or remove the file`);
    }
    migrations.push({ version: match[1], name, checksum: createHash('sha256').update(sql).digest('hex'), sql });
  }
  if (migrations.length === 0) {
    throw new Error(`${prop} ('${folder}') holds no migrations: add NNNN_name.sql files or leave ${prop} unset`);
  }
  return migrations.sort((a, b) => Number(a.version) - Number(b.version));
}

/**
 * The versions missing between migrations of `migrations` (in version
 * order), one line for each gap, e.g. '0002 (between 0001_a.sql and
 * 0003_b.sql)'. Versions below the first are not gaps: old migrations may
 * have been squashed into a baseline.
 */
export function versionGaps(migrations: readonly Migration[]): string[] {
  const gaps: string[] = [];
  for (let index = 1; index < migrations.length; index++) {
    const [before, after] = [migrations[index - 1], migrations[index]];
    const first = Number(before.version) + 1;
    const last = Number(after.version) - 1;
    if (first <= last) {
      const missing = first === last ? versionText(first) : `${versionText(first)} to ${versionText(last)}`;
      gaps.push(`${missing} (between ${before.name} and ${after.name})`);
    }
  }
  return gaps;
}

function versionText(version: number): string {
  return String(version).padStart(4, '0');
}
