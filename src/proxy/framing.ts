/**
 * HTTP/1.1 heads and body framing as the decrypted fast path reads them (RFC 9112). The request parser is deliberately
 * narrow: it accepts one well-formed subset and answers `other` for everything else, which then goes to Node's strict
 * parser (the full path) — so anything unusual or malformed gets exactly the answer it got before. Bodies are never
 * decoded or copied: the trackers only find where a message ends and count its payload.
 */

/** Node's default limit for a head (--max-http-header-size); past it Node answers 431, so the full path takes it. */
export const MAX_HEAD_BYTES = 16 * 1024;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\/[\x21-\x7e]*) HTTP\/1\.1$/;
/** field values the fast path takes from a client: visible ASCII, spaces and tabs only */
const CLIENT_VALUE = /^[\t\x20-\x7e]*$/;
/** field values from a server: obs-text allowed, as Node's client parser allows it */
const SERVER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9][0-9][0-9])(?: ([\t\x20-\x7e\x80-\xff]*))?$/;
const DIGITS = /^[0-9]{1,15}$/;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

export type Framing = { type: 'none' } | { type: 'length'; length: number } | { type: 'chunked' } | { type: 'close' };

export interface RequestHead {
  method: string;
  /** origin-form, as sent */
  target: string;
  /** flat [name, value, …] as received */
  rawHeaders: string[];
  host: string;
  body: Framing;
  /** the client asked to close the connection after this exchange */
  close: boolean;
  /** bytes of the head, CRLFCRLF included */
  size: number;
}

export type RequestHeadResult = { type: 'incomplete' } | { type: 'other' } | ({ type: 'head' } & RequestHead);

function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 32 || value.charCodeAt(start) === 9)) start++;
  while (end > start && (value.charCodeAt(end - 1) === 32 || value.charCodeAt(end - 1) === 9)) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

function hasToken(list: string, token: string): boolean {
  for (const item of list.split(',')) if (trimOws(item).toLowerCase() === token) return true;
  return false;
}

/** Splits a head (without its final CRLFCRLF) into the start line and the flat header list; undefined if not plain. */
function splitHead(text: string, value: RegExp): { start: string; rawHeaders: string[] } | undefined {
  const lines = text.split('\r\n');
  const rawHeaders: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    // no colon, an empty name, whitespace before the colon, or obs-fold (a line starting with SP/HT): not plain
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon);
    const raw = line.slice(colon + 1);
    if (!TOKEN.test(name) || !value.test(raw)) return undefined;
    rawHeaders.push(name, trimOws(raw));
  }
  return { start: lines[0]!, rawHeaders };
}

/** A request head from the start of buf, if it is in the subset the fast path serves. */
export function parseRequestHead(buf: Buffer): RequestHeadResult {
  const end = buf.indexOf(HEAD_END);
  if (end < 0) return buf.length > MAX_HEAD_BYTES ? { type: 'other' } : { type: 'incomplete' };
  const size = end + 4;
  if (size > MAX_HEAD_BYTES) return { type: 'other' };
  const split = splitHead(buf.toString('latin1', 0, end), CLIENT_VALUE);
  if (split === undefined) return { type: 'other' };
  const line = REQUEST_LINE.exec(split.start);
  if (line === null || line[1] === 'CONNECT') return { type: 'other' };
  const { rawHeaders } = split;
  let host: string | undefined;
  let hosts = 0;
  let length: string | undefined;
  let lengths = 0;
  let chunked = 0;
  let close = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') {
          host = value;
          hosts++;
        }
        break;
      case 6:
        // Expect: 100-continue needs the interim-response dance; the full path does it
        if (name.toLowerCase() === 'expect') return { type: 'other' };
        break;
      case 7:
        // upgrades (WebSocket, h2c) are served by the full path
        if (name.toLowerCase() === 'upgrade') return { type: 'other' };
        break;
      case 10:
        if (name.toLowerCase() === 'connection') {
          if (hasToken(value, 'upgrade')) return { type: 'other' };
          if (hasToken(value, 'close')) close = true;
        }
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          length = value;
          lengths++;
        }
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') {
          // only a plain "chunked"; any other coding, a list or a repeat goes to Node's parser (smuggling rules)
          if (value.toLowerCase() !== 'chunked') return { type: 'other' };
          chunked++;
        }
        break;
      default:
        break;
    }
  }
  if (hosts !== 1 || host === undefined || lengths > 1 || chunked > 1 || (lengths > 0 && chunked > 0)) return { type: 'other' };
  let body: Framing = { type: 'none' };
  if (chunked > 0) body = { type: 'chunked' };
  else if (length !== undefined) {
    if (!DIGITS.test(length)) return { type: 'other' };
    const n = Number(length);
    body = n === 0 ? { type: 'none' } : { type: 'length', length: n };
  }
  return { type: 'head', method: line[1]!, target: line[2]!, rawHeaders, host, body, close, size };
}

export interface ResponseHead {
  status: number;
  reason: string;
  rawHeaders: string[];
  /** how the body is framed, given the request's method */
  body: Framing;
  /** the server will not take another request on this connection */
  close: boolean;
  size: number;
}

export type ResponseHeadResult = { type: 'incomplete' } | { type: 'invalid' } | ({ type: 'head' } & ResponseHead);

/** A response head from the start of buf (RFC 9112 §6.3 for the body's length). */
export function parseResponseHead(buf: Buffer, method: string): ResponseHeadResult {
  const end = buf.indexOf(HEAD_END);
  if (end < 0) return buf.length > MAX_HEAD_BYTES ? { type: 'invalid' } : { type: 'incomplete' };
  const size = end + 4;
  if (size > MAX_HEAD_BYTES) return { type: 'invalid' };
  const split = splitHead(buf.toString('latin1', 0, end), SERVER_VALUE);
  if (split === undefined) return { type: 'invalid' };
  const line = STATUS_LINE.exec(split.start);
  if (line === null) return { type: 'invalid' };
  const http10 = line[1] === '0';
  const status = Number(line[2]);
  const { rawHeaders } = split;
  let length: string | undefined;
  let codings: string | undefined;
  let close = http10;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const lower = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (lower === 'content-length') {
      if (length !== undefined && length !== value) return { type: 'invalid' };
      length = value;
    } else if (lower === 'transfer-encoding') {
      codings = codings === undefined ? value : `${codings},${value}`;
    } else if (lower === 'connection') {
      if (hasToken(value, 'close')) close = true;
      else if (http10 && hasToken(value, 'keep-alive')) close = false;
    }
  }
  let body: Framing;
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) body = { type: 'none' };
  else if (codings !== undefined) {
    if (length !== undefined) return { type: 'invalid' };
    const list = codings.split(',');
    body = trimOws(list[list.length - 1]!).toLowerCase() === 'chunked' ? { type: 'chunked' } : { type: 'close' };
  } else if (length !== undefined) {
    if (!DIGITS.test(length)) return { type: 'invalid' };
    body = { type: 'length', length: Number(length) };
  } else body = { type: 'close' };
  if (body.type === 'close') close = true;
  return { type: 'head', status, reason: line[3] ?? '', rawHeaders, body, close, size };
}

export class FramingError extends Error {
  override readonly name = 'FramingError';
}

const enum Chunk {
  Size,
  SizeMore,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  TrailerLine,
  TrailerLf,
  EndLf,
  Done,
}

/** The most hex digits of a chunk size: 2^52 and more is refused as a framing error. */
const MAX_SIZE_DIGITS = 13;
/** trailers are dropped (as Node's path dropped them) and bounded like a head */
const MAX_TRAILER_BYTES = MAX_HEAD_BYTES;
const CRLF = Buffer.from('\r\n', 'latin1');

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 97 && byte <= 102) return byte - 87;
  if (byte >= 65 && byte <= 70) return byte - 55;
  return -1;
}

/**
 * Follows one message body through the bytes that carry it, passing them on unchanged (chunk framing included, trailer
 * fields dropped) and noticing where it ends. `payload` counts content bytes, as the audit's byte counts always did.
 */
export class BodyTracker {
  payload = 0;
  done: boolean;
  private remaining: number;
  private state = Chunk.Size;
  private digits = 0;
  private trailerBytes = 0;
  /** a trailer field was seen: nothing more is passed on until the terminating CRLF, which is sent alone */
  private dropping = false;

  constructor(private readonly framing: Framing) {
    this.done = framing.type === 'none';
    this.remaining = framing.type === 'length' ? framing.length : 0;
  }

  /** the body runs until the connection closes */
  get untilClose(): boolean {
    return this.framing.type === 'close';
  }

  /** Reads body bytes from buf[start…]; calls out with what belongs to the body; returns where the body ended in buf. */
  feed(buf: Buffer, start: number, out: (chunk: Buffer) => void): number {
    if (this.done || start >= buf.length) return start;
    switch (this.framing.type) {
      case 'close':
        this.payload += buf.length - start;
        out(start === 0 ? buf : buf.subarray(start));
        return buf.length;
      case 'length': {
        const n = Math.min(this.remaining, buf.length - start);
        this.remaining -= n;
        this.payload += n;
        out(start === 0 && n === buf.length ? buf : buf.subarray(start, start + n));
        if (this.remaining === 0) this.done = true;
        return start + n;
      }
      case 'chunked':
        return this.feedChunked(buf, start, out);
      default:
        return start;
    }
  }

  private feedChunked(buf: Buffer, start: number, out: (chunk: Buffer) => void): number {
    let emitFrom = this.dropping ? -1 : start;
    let i = start;
    const len = buf.length;
    while (i < len && this.state !== Chunk.Done) {
      const byte = buf[i]!;
      switch (this.state) {
        case Chunk.Size:
        case Chunk.SizeMore: {
          const v = hexValue(byte);
          if (v >= 0) {
            if (++this.digits > MAX_SIZE_DIGITS) throw new FramingError('chunk size too large');
            this.remaining = this.remaining * 16 + v;
            this.state = Chunk.SizeMore;
          } else if (this.state === Chunk.Size) {
            throw new FramingError('chunk size expected');
          } else if (byte === 0x0d) {
            this.state = Chunk.SizeLf;
          } else if (byte === 0x3b || byte === 0x20 || byte === 0x09) {
            this.state = Chunk.Extension;
          } else {
            throw new FramingError('bad chunk size line');
          }
          i++;
          break;
        }
        case Chunk.Extension:
          if (byte === 0x0d) this.state = Chunk.SizeLf;
          else if (byte === 0x0a || byte === 0) throw new FramingError('bad chunk extension');
          i++;
          break;
        case Chunk.SizeLf:
          if (byte !== 0x0a) throw new FramingError('chunk size line without LF');
          this.digits = 0;
          this.state = this.remaining === 0 ? Chunk.TrailerStart : Chunk.Data;
          i++;
          break;
        case Chunk.Data: {
          const n = Math.min(this.remaining, len - i);
          this.remaining -= n;
          this.payload += n;
          i += n;
          if (this.remaining === 0) this.state = Chunk.DataCr;
          break;
        }
        case Chunk.DataCr:
          if (byte !== 0x0d) throw new FramingError('chunk data without CRLF');
          this.state = Chunk.DataLf;
          i++;
          break;
        case Chunk.DataLf:
          if (byte !== 0x0a) throw new FramingError('chunk data without CRLF');
          this.state = Chunk.Size;
          i++;
          break;
        case Chunk.TrailerStart:
          if (byte === 0x0d) {
            this.state = Chunk.EndLf;
          } else {
            // a trailer field: not passed on (placeholders could hide there, and Node's path never forwarded them)
            if (emitFrom >= 0 && i > emitFrom) out(buf.subarray(emitFrom, i));
            emitFrom = -1;
            this.dropping = true;
            this.state = Chunk.TrailerLine;
          }
          i++;
          break;
        case Chunk.TrailerLine:
          if (++this.trailerBytes > MAX_TRAILER_BYTES) throw new FramingError('trailers too large');
          if (byte === 0x0d) this.state = Chunk.TrailerLf;
          else if (byte === 0x0a) throw new FramingError('bare LF in trailers');
          i++;
          break;
        case Chunk.TrailerLf:
          if (byte !== 0x0a) throw new FramingError('trailer without CRLF');
          this.state = Chunk.TrailerStart;
          i++;
          break;
        case Chunk.EndLf:
          if (byte !== 0x0a) throw new FramingError('last chunk without CRLF');
          this.state = Chunk.Done;
          i++;
          break;
        default:
          break;
      }
    }
    if (this.state === Chunk.Done) {
      this.done = true;
      // after dropped trailers, the terminating CRLF is all that is left to send
      if (this.dropping) out(CRLF);
      else if (i > emitFrom) out(emitFrom === 0 && i === len ? buf : buf.subarray(emitFrom, i));
    } else if (emitFrom >= 0 && i > emitFrom) {
      out(emitFrom === 0 && i === len ? buf : buf.subarray(emitFrom, i));
    }
    return i;
  }
}
