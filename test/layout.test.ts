import * as fs from 'fs';
import * as path from 'path';
import { PROJECT_ROOT } from './support/app';

/**
 * The layout of lib/: one folder per construct, which owns the helpers only
 * it uses in its own private/; lib/private/ holds what several folders share.
 */
const LIB = path.join(PROJECT_ROOT, 'lib');

function sourcesUnder(directory: string): string[] {
  return fs.readdirSync(directory, { recursive: true, encoding: 'utf8' })
    .filter(file => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map(file => path.join(directory, file));
}

/** The files of lib/ a source imports, resolved to absolute paths without extension. */
function localImportsOf(file: string): string[] {
  const source = fs.readFileSync(file, 'utf8');
  return [...source.matchAll(/(?:from|import)\s+'(\.{1,2}(?:\/[^']+)?)'/g)].map(match => path.resolve(path.dirname(file), match[1]));
}

/** The top folder of lib/ a path is in (`database`, `private`, ...), or undefined outside lib/. */
function topFolderOf(file: string): string | undefined {
  const relative = path.relative(LIB, file);
  return relative.startsWith('..') || !relative.includes(path.sep) ? undefined : relative.split(path.sep)[0];
}

const libSources = sourcesUnder(LIB);
const imports = new Map(libSources.map(file => [file.replace(/\.ts$/, ''), localImportsOf(file)]));

describe('layout of lib/', () => {
  test('a construct folder\'s private/ helpers are imported only from that folder', () => {
    const crossings = [...imports].flatMap(([importer, targets]) => targets
      .filter(target => /\/lib\/[^/]+\/private\//.test(target) && topFolderOf(target) !== topFolderOf(importer))
      .map(target => `${path.relative(LIB, importer)} -> ${path.relative(LIB, target)}`));
    expect(crossings).toEqual([]);
  });

  test('lib/private imports only lib/private', () => {
    const upward = [...imports]
      .filter(([importer]) => topFolderOf(importer) === 'private')
      .flatMap(([importer, targets]) => targets
        .filter(target => topFolderOf(target) !== 'private')
        .map(target => `${path.relative(LIB, importer)} -> ${path.relative(LIB, target)}`));
    expect(upward).toEqual([]);
  });

  test('every module of lib/private/ serves at least two folders of lib/, directly or through another shared module', () => {
    const shared = libSources.map(file => file.replace(/\.ts$/, '')).filter(file => topFolderOf(file) === 'private');
    const foldersUsing = (module: string, seen = new Set<string>()): Set<string> => {
      const folders = new Set<string>();
      for (const [importer, targets] of imports) {
        if (!targets.includes(module) || seen.has(importer)) continue;
        seen.add(importer);
        const folder = topFolderOf(importer)!;
        if (folder === 'private') {
          foldersUsing(importer, seen).forEach(used => folders.add(used));
        } else {
          folders.add(folder);
        }
      }
      return folders;
    };
    const singleUse = shared
      .map(module => ({ module: path.relative(LIB, module), folders: [...foldersUsing(module)].sort() }))
      .filter(({ folders }) => folders.length < 2);
    expect(singleUse).toEqual([]);
  });

  test('the checks above see the imports: lib/private/validation is used by several construct folders', () => {
    const users = [...imports].filter(([, targets]) => targets.includes(path.join(LIB, 'private', 'validation'))).map(([importer]) => topFolderOf(importer));
    expect(new Set(users).size).toBeGreaterThan(3);
  });
});
