/**
 * The few LDAP messages (RFC 4511, BER-encoded) that PostgreSQL's `ldap`
 * authentication exchanges in simple-bind mode: a BindRequest carrying the
 * password the client sent in cleartext, the BindResponse, and an
 * UnbindRequest. Enough for a local server that checks those passwords;
 * nothing else of LDAP.
 */

/** A BindRequest with simple authentication. */
export interface BindRequest {
  readonly kind: 'bind';
  /** The messageID element as received (tag, length and value), echoed in the response. */
  readonly messageId: Buffer;
  readonly name: string;
  readonly password: string;
}

export type LdapMessage = BindRequest | { readonly kind: 'unbind' };

export const LDAP_SUCCESS = 0;
export const LDAP_INVALID_CREDENTIALS = 49;

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const OCTET_STRING = 0x04;
const ENUMERATED = 0x0a;
const BIND_REQUEST = 0x60;
const BIND_RESPONSE = 0x61;
const UNBIND_REQUEST = 0x42;
/** The `simple` choice of AuthenticationChoice: context tag 0, primitive. */
const SIMPLE_AUTHENTICATION = 0x80;

interface Element {
  readonly tag: number;
  /** The whole element: tag, length and value. */
  readonly raw: Buffer;
  readonly value: Buffer;
}

/**
 * The first whole LDAPMessage in `buffer` and the bytes it took, or
 * undefined while the message is incomplete. Throws on bytes that are no
 * LDAPMessage, and on operations other than bind and unbind.
 */
export function readMessage(buffer: Buffer): { message: LdapMessage; length: number } | undefined {
  const envelope = readElement(buffer, 0);
  if (!envelope) return undefined;
  if (envelope.tag !== SEQUENCE) throw new Error(`an LDAPMessage starts with a SEQUENCE, not tag 0x${envelope.tag.toString(16)}`);
  const messageId = expectElement(envelope.value, 0, INTEGER, 'messageID');
  const operation = readElement(envelope.value, messageId.raw.length);
  if (!operation) throw new Error('the LDAPMessage has no protocolOp');
  return { message: parseOperation(messageId.raw, operation), length: envelope.raw.length };
}

/** A BindResponse to the request with `messageId`. */
export function bindResponse(messageId: Buffer, resultCode: number, diagnosticMessage = ''): Buffer {
  const result = Buffer.concat([
    element(ENUMERATED, Buffer.from([resultCode])),
    element(OCTET_STRING, Buffer.alloc(0)),
    element(OCTET_STRING, Buffer.from(diagnosticMessage, 'utf8')),
  ]);
  return element(SEQUENCE, Buffer.concat([messageId, element(BIND_RESPONSE, result)]));
}

function parseOperation(messageId: Buffer, operation: Element): LdapMessage {
  if (operation.tag === UNBIND_REQUEST) return { kind: 'unbind' };
  if (operation.tag !== BIND_REQUEST) throw new Error(`only bind and unbind are served, not the LDAP operation with tag 0x${operation.tag.toString(16)}`);
  const version = expectElement(operation.value, 0, INTEGER, 'version');
  const name = expectElement(operation.value, version.raw.length, OCTET_STRING, 'name');
  const password = expectElement(operation.value, version.raw.length + name.raw.length, SIMPLE_AUTHENTICATION, 'simple authentication');
  return { kind: 'bind', messageId, name: name.value.toString('utf8'), password: password.value.toString('utf8') };
}

function expectElement(buffer: Buffer, offset: number, tag: number, what: string): Element {
  const found = readElement(buffer, offset);
  if (!found || found.tag !== tag) throw new Error(`expected ${what} (tag 0x${tag.toString(16)}) at byte ${offset} of the LDAP message`);
  return found;
}

/** The BER element at `offset` (definite lengths only, as LDAP requires), or undefined if `buffer` ends before it does. */
function readElement(buffer: Buffer, offset: number): Element | undefined {
  if (buffer.length < offset + 2) return undefined;
  const tag = buffer[offset];
  const first = buffer[offset + 1];
  let length = first;
  let header = 2;
  if (first & 0x80) {
    const octets = first & 0x7f;
    if (octets === 0 || octets > 4) throw new Error(`unsupported BER length form 0x${first.toString(16)}`);
    if (buffer.length < offset + 2 + octets) return undefined;
    length = buffer.readUIntBE(offset + 2, octets);
    header += octets;
  }
  const end = offset + header + length;
  if (buffer.length < end) return undefined;
  return { tag, raw: buffer.subarray(offset, end), value: buffer.subarray(offset + header, end) };
}

function element(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(value.length), value]);
}

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const octets: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest % 256);
  return Buffer.from([0x80 | octets.length, ...octets]);
}
