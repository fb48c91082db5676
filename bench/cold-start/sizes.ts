/**
 * Sizes of a function's code as deployed: its own bundle, its source map,
 * the layer it loads from, and the zip files the CDK CLI would upload.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { Bundle } from './bundles';

export interface BundleSize {
  /** The handler's JavaScript file (index.js). */
  readonly bundleBytes: number;
  /** Its source map (index.js.map), 0 when there is none. */
  readonly sourceMapBytes: number;
  /** Every file of the layer, unzipped; 0 without a layer. */
  readonly layerBytes: number;
  /** What the function can load: the bundle plus the layer's files. */
  readonly codeBytes: number;
  /** The zipped function asset plus the zipped layer asset. */
  readonly zippedBytes: number;
}

/** Zip's fixed header sizes: local file header, central directory entry, end of central directory record. */
const LOCAL_HEADER_BYTES = 30;
const CENTRAL_ENTRY_BYTES = 46;
const END_RECORD_BYTES = 22;

/** Sizes of `bundle`; `zippedSize` caches folders that several bundles share (the layer). */
export function bundleSize(bundle: Bundle, zippedSize: (directory: string) => number): BundleSize {
  const bundleBytes = fs.statSync(path.join(bundle.codeDirectory, bundle.handlerFile)).size;
  const sourceMap = path.join(bundle.codeDirectory, `${bundle.handlerFile}.map`);
  const sourceMapBytes = fs.existsSync(sourceMap) ? fs.statSync(sourceMap).size : 0;
  const layerBytes = bundle.layerDirectory ? filesOf(bundle.layerDirectory).reduce((total, file) => total + fs.statSync(file).size, 0) : 0;
  return {
    bundleBytes,
    sourceMapBytes,
    layerBytes,
    codeBytes: bundleBytes + layerBytes,
    zippedBytes: zippedSize(bundle.codeDirectory) + (bundle.layerDirectory ? zippedSize(bundle.layerDirectory) : 0),
  };
}

/** A `zippedSize` for bundleSize() that zips each folder once. */
export function cachedZippedSize(): (directory: string) => number {
  const known = new Map<string, number>();
  return directory => {
    if (!known.has(directory)) known.set(directory, zippedDirectoryBytes(directory));
    return known.get(directory)!;
  };
}

/**
 * The size of the zip file the CDK CLI makes of `directory` (yazl: every
 * file, symbolic links followed, deflated at zlib's default level, DOS
 * timestamps only, so no extra fields), computed from the compressed
 * sizes and the zip headers without writing the file.
 */
export function zippedDirectoryBytes(directory: string): number {
  return filesOf(directory).reduce((total, file) => {
    const nameBytes = Buffer.byteLength(path.relative(directory, file).split(path.sep).join('/'));
    const compressedBytes = zlib.deflateRawSync(fs.readFileSync(file)).length;
    return total + LOCAL_HEADER_BYTES + CENTRAL_ENTRY_BYTES + 2 * nameBytes + compressedBytes;
  }, END_RECORD_BYTES);
}

/** Every file under `directory`, following symbolic links (npm's .bin entries) as the CLI's zip does. */
function filesOf(directory: string): string[] {
  return fs.readdirSync(directory).flatMap(entry => {
    const location = path.join(directory, entry);
    const stats = fs.statSync(location);
    if (stats.isDirectory()) return filesOf(location);
    return stats.isFile() ? [location] : [];
  });
}
