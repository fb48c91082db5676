import * as fs from 'fs';
import * as path from 'path';
import { AssetStaging, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Unzipped bytes of every asset staged under `scope` (what counts against
 * Lambda's 250 MB limit), or undefined when nothing was staged or the stack
 * skips bundling (then a staged path is only the unbuilt source).
 */
export function stagedAssetBytes(scope: IConstruct): number | undefined {
  if (!Stack.of(scope).bundlingRequired) {
    return undefined;
  }
  const stagings = scope.node.findAll().filter((construct): construct is AssetStaging => construct instanceof AssetStaging);
  if (stagings.length === 0) {
    return undefined;
  }
  return stagings.reduce((total, staging) => total + unzippedBytes(staging.absoluteStagedPath), 0);
}

function unzippedBytes(stagedPath: string): number {
  const stats = fs.lstatSync(stagedPath);
  if (stats.isDirectory()) {
    return fs.readdirSync(stagedPath).reduce((total, entry) => total + unzippedBytes(path.join(stagedPath, entry)), 0);
  }
  if (!stats.isFile()) {
    // Symbolic links (npm's .bin entries) point at files counted where they live.
    return 0;
  }
  // Other archive types (.tar.gz, .tgz) count compressed: Lambda takes only zip files, so they are not Lambda code.
  return zipUncompressedBytes(stagedPath) ?? stats.size;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const END_OF_CENTRAL_DIRECTORY_BYTES = 22;
const MAX_COMMENT_BYTES = 0xffff;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_LOCATOR_BYTES = 20;
const ZIP64_END_OF_CENTRAL_DIRECTORY = 0x06064b50;
const ZIP64_END_OF_CENTRAL_DIRECTORY_BYTES = 56;
const CENTRAL_DIRECTORY_ENTRY = 0x02014b50;
const CENTRAL_DIRECTORY_ENTRY_BYTES = 46;
const ZIP64_EXTRA_FIELD = 0x0001;
const SIZE_IN_ZIP64 = 0xffffffff;
const COUNT_IN_ZIP64 = 0xffff;

/** Sum of the uncompressed sizes in a zip file's central directory; undefined when the file is not a zip. */
function zipUncompressedBytes(file: string): number | undefined {
  const fd = fs.openSync(file, 'r');
  try {
    const read = (position: number, length: number): Buffer => {
      const buffer = Buffer.alloc(length);
      fs.readSync(fd, buffer, 0, length, position);
      return buffer;
    };
    const fileBytes = fs.fstatSync(fd).size;
    if (fileBytes < END_OF_CENTRAL_DIRECTORY_BYTES) {
      return undefined;
    }
    const tailBytes = Math.min(fileBytes, END_OF_CENTRAL_DIRECTORY_BYTES + MAX_COMMENT_BYTES);
    const tailStart = fileBytes - tailBytes;
    const tail = read(tailStart, tailBytes);
    const end = lastSignature(tail, END_OF_CENTRAL_DIRECTORY, tailBytes - END_OF_CENTRAL_DIRECTORY_BYTES);
    if (end < 0) {
      return undefined;
    }
    let entries = tail.readUInt16LE(end + 10);
    let directoryBytes = tail.readUInt32LE(end + 12);
    let directoryStart = tail.readUInt32LE(end + 16);
    if (entries === COUNT_IN_ZIP64 || directoryBytes === SIZE_IN_ZIP64 || directoryStart === SIZE_IN_ZIP64) {
      const locator = end - ZIP64_LOCATOR_BYTES;
      if (locator < 0 || tail.readUInt32LE(locator) !== ZIP64_LOCATOR) {
        return undefined;
      }
      const zip64End = read(Number(tail.readBigUInt64LE(locator + 8)), ZIP64_END_OF_CENTRAL_DIRECTORY_BYTES);
      if (zip64End.readUInt32LE(0) !== ZIP64_END_OF_CENTRAL_DIRECTORY) {
        return undefined;
      }
      entries = Number(zip64End.readBigUInt64LE(32));
      directoryBytes = Number(zip64End.readBigUInt64LE(40));
      directoryStart = Number(zip64End.readBigUInt64LE(48));
    }
    const directory = read(directoryStart, directoryBytes);
    let total = 0;
    let offset = 0;
    for (let entry = 0; entry < entries; entry++) {
      if (offset + CENTRAL_DIRECTORY_ENTRY_BYTES > directory.length || directory.readUInt32LE(offset) !== CENTRAL_DIRECTORY_ENTRY) {
        return undefined;
      }
      const nameBytes = directory.readUInt16LE(offset + 28);
      const extraBytes = directory.readUInt16LE(offset + 30);
      const commentBytes = directory.readUInt16LE(offset + 32);
      const uncompressed = directory.readUInt32LE(offset + 24);
      const extraStart = offset + CENTRAL_DIRECTORY_ENTRY_BYTES + nameBytes;
      total += uncompressed === SIZE_IN_ZIP64
        ? zip64UncompressedBytes(directory.subarray(extraStart, extraStart + extraBytes)) ?? uncompressed
        : uncompressed;
      offset = extraStart + extraBytes + commentBytes;
    }
    return total;
  } finally {
    fs.closeSync(fd);
  }
}

/** The last offset at or before `from` where `signature` starts, or -1. */
function lastSignature(buffer: Buffer, signature: number, from: number): number {
  for (let offset = from; offset >= 0; offset--) {
    if (buffer.readUInt32LE(offset) === signature) {
      return offset;
    }
  }
  return -1;
}

/** The uncompressed size from an entry's zip64 extra field (it comes first when the 32-bit field overflows). */
function zip64UncompressedBytes(extra: Buffer): number | undefined {
  for (let offset = 0; offset + 4 <= extra.length;) {
    const id = extra.readUInt16LE(offset);
    const bytes = extra.readUInt16LE(offset + 2);
    if (id === ZIP64_EXTRA_FIELD && bytes >= 8) {
      return Number(extra.readBigUInt64LE(offset + 4));
    }
    offset += 4 + bytes;
  }
  return undefined;
}
