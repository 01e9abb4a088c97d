// The file store: a directory of content-addressed objects (identical content is stored once), one small
// JSON record per shared file, and partial uploads kept for resume (docs/protocol.md "Files").
//
//   objects/<sha256>           the bytes
//   records/<id>.json          who shared what, where, when
//   partial/<sha256>.<size>    an interrupted upload, continued by a later one with the same sha256 and size

import { createHash, randomBytes } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { ErrorCode, type FileEvent } from '../../protocol/index.js';
import { isOutOfSpace, localDisk, type Disk } from './disk.js';
import { voiceFields } from './voice.js';

export interface FileLimits {
  /** Largest file accepted, in bytes. */
  maxFileBytes: number;
  /** Total bytes of stored objects and of uploads in progress (the bytes they received so far). */
  quotaBytes: number;
  /** Files older than this are forgotten (and their bytes removed when nothing else refers to them). */
  expiryMs: number;
}

/**
 * What the store keeps about one shared file. `fromKey`/`toKey` are the principals of a private file's two parties
 * (state/principals.ts: an account, or one guest connection), for access checks.
 */
export interface FileRecord {
  id: string;
  name: string;
  size: number;
  sha256: string;
  from: string;
  room?: string;
  to?: string;
  ts: string;
  seq?: number;
  fromKey: string;
  toKey?: string;
  /** A voice message (docs/protocol.md "Voice messages"). */
  kind?: 'voice';
  duration_ms?: number;
  waveform?: number[];
}

export class FileError extends Error {
  override readonly name = 'FileError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** An upload in progress: bytes in, a verified object out. */
export interface Upload {
  /** False: wait for the stream's 'drain' (the disk is slower than the network). After a failure bytes are dropped. */
  write(chunk: Buffer): boolean;
  readonly stream: Writable;
  /** All bytes arrived: verify, store, return the sha256. Throws FileError (checksum_mismatch, no_space, ...). */
  finish(): Promise<string>;
  /** The connection ended early: keep the partial bytes for resume when it can be resumed. */
  abandon(): void;
  readonly received: number;
  /** Why the upload failed before its end (the disk filled, the quota was reached), or null. */
  readonly failure: FileError | null;
  /** Called once if it fails before all bytes arrived; its partial bytes are gone and the content may come again. */
  onFailure(listener: (error: FileError) => void): void;
}

const PARTIAL_EXPIRY_MS = 24 * 3600 * 1000;
/** How often (in bytes received) an upload looks at the free space again. */
const SPACE_CHECK_BYTES = 16 * 1024 * 1024;

export class FileStore {
  private readonly records = new Map<string, FileRecord>();
  /** Bytes of objects on disk plus bytes received by uploads in progress. */
  private usedBytes = 0;
  /** Free space and write streams; tests replace it with a small or full disk. */
  disk: Disk = localDisk;
  private readonly temporary: boolean;
  /** Partial files being written now: two uploads of the same content must not write one file. */
  private readonly receiving = new Set<string>();
  /** Interrupted uploads whose last bytes are still being written. */
  private readonly settling = new Map<string, Promise<void>>();

  /** The store's directory; a temporary store makes one on first use. */
  private root: string | null;

  constructor(
    dir: string | null,
    readonly limits: FileLimits,
  ) {
    this.temporary = dir === null;
    this.root = dir;
    if (dir === null) return; // nothing on disk yet, nothing to load
    this.makeDirs();
    this.loadRecords();
    for (const entry of readdirSync(this.path('objects'))) this.usedBytes += statSync(this.path('objects', entry)).size;
    this.sweep();
  }

  private makeDirs(): void {
    for (const sub of ['objects', 'records', 'partial']) mkdirSync(join(this.root!, sub), { recursive: true });
  }

  private path(...parts: string[]): string {
    if (this.root === null) {
      this.root = mkdtempSync(join(tmpdir(), 'chat-files-'));
      this.makeDirs();
    }
    return join(this.root, ...parts);
  }

  /** Refuse a file before any byte is written: too large, or over the quota. */
  admit(size: number): void {
    if (size > this.limits.maxFileBytes) {
      throw new FileError(ErrorCode.too_large, `files may have at most ${this.limits.maxFileBytes} bytes`);
    }
    if (this.usedBytes + size > this.limits.quotaBytes) {
      throw new FileError(ErrorCode.quota_exceeded, 'the server has no room for this file; try again later or a smaller one');
    }
  }

  /** Bytes the server already has of an interrupted upload of this content. */
  partialBytes(sha256: string, size: number): number {
    try {
      return Math.min(size, statSync(this.path('partial', `${sha256}.${size}`)).size);
    } catch {
      return 0;
    }
  }

  /** partialBytes, once an interrupted upload of this content has written everything it received. */
  async settledPartialBytes(sha256: string, size: number): Promise<number> {
    await this.settling.get(this.path('partial', `${sha256}.${size}`));
    return this.partialBytes(sha256, size);
  }

  hasObject(sha256: string): boolean {
    try {
      statSync(this.path('objects', sha256));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Start receiving `size` bytes, continuing a partial upload from `offset`, as long as the disk keeps
   * `keepFreeBytes` free besides (for history and the system). The quota counts the bytes that arrive, not the
   * size announced: an upload that stalls holds no room it does not use.
   */
  beginUpload(size: number, sha256: string | undefined, offset: number, keepFreeBytes = 0): Upload {
    if (offset > 0 && this.partialBytes(sha256!, size) < offset) {
      throw new FileError(ErrorCode.bad_request, `the server has only ${this.partialBytes(sha256!, size)} bytes of it; resume from there`);
    }
    this.admit(size - offset);
    if (this.freeBytes() < size - offset + keepFreeBytes) {
      throw new FileError(ErrorCode.no_space, 'the server\'s disk has no room for this file now; try again later or a smaller one');
    }
    const partial = sha256
      ? this.path('partial', `${sha256}.${size}`)
      : this.path('partial', `anonymous-${randomBytes(8).toString('hex')}`);
    if (this.receiving.has(partial)) {
      throw new FileError(ErrorCode.bad_request, 'the same content is being uploaded on another connection right now');
    }
    this.receiving.add(partial);
    const stream = this.disk.openWrite(partial, offset);
    // Hash on the fly unless resuming: then the earlier bytes are hashed from disk at the end.
    const hash = offset === 0 ? createHash('sha256') : null;
    let received = 0;
    /** This upload's bytes counted in usedBytes: those received, until it is stored or given up. */
    let counted = 0;
    let sinceSpaceCheck = 0;
    let state: 'receiving' | 'finishing' | 'abandoned' | 'failed' = 'receiving';
    let failure: FileError | null = null;
    let failed: ((error: FileError) => void) | null = null;
    const uncount = () => {
      this.usedBytes -= counted;
      counted = 0;
    };
    // The bytes cannot be completed: remove them, so the disk gets its space back and the content can come again.
    const fail = (error: FileError) => {
      if (failure) return;
      failure = error;
      const notify = state === 'receiving';
      state = 'failed';
      uncount();
      stream.destroy();
      rmSync(partial, { force: true });
      this.receiving.delete(partial);
      if (notify) failed?.(error);
    };
    stream.on('error', (error) => fail(storageFailure(error)));
    const closed = () => new Promise<void>((resolve, reject) => {
      stream.once('error', reject);
      stream.end(() => resolve());
    });
    return {
      stream,
      get received() {
        return received;
      },
      get failure() {
        return failure;
      },
      onFailure(listener) {
        failed = listener;
      },
      write: (chunk) => {
        if (failure) return true; // the rest is skipped
        received += chunk.length;
        if (this.usedBytes + chunk.length > this.limits.quotaBytes) {
          fail(new FileError(ErrorCode.quota_exceeded, 'other files filled the server\'s quota during the upload; nothing was kept'));
          return true;
        }
        counted += chunk.length;
        this.usedBytes += chunk.length;
        sinceSpaceCheck += chunk.length;
        if (sinceSpaceCheck >= SPACE_CHECK_BYTES) {
          sinceSpaceCheck = 0;
          // Other uploads (or anything else) are filling the disk too: stop before history's share is gone.
          if (this.freeBytes() < keepFreeBytes / 2) {
            fail(new FileError(ErrorCode.no_space, 'the server\'s disk filled up during the upload; nothing was kept'));
            return true;
          }
        }
        hash?.update(chunk);
        return stream.write(chunk);
      },
      finish: async () => {
        if (failure) throw failure;
        state = 'finishing';
        try {
          await closed();
        } catch (error) {
          fail(storageFailure(error));
          throw failure!;
        }
        uncount();
        this.receiving.delete(partial);
        const actual = hash ? hash.digest('hex') : await hashFile(partial);
        if (sha256 && actual !== sha256) {
          rmSync(partial, { force: true });
          throw new FileError(ErrorCode.checksum_mismatch, `the bytes have sha256 ${actual}, not ${sha256}; nothing was kept`);
        }
        if (this.hasObject(actual)) {
          rmSync(partial, { force: true }); // identical content is stored once
        } else {
          renameSync(partial, this.path('objects', actual));
          this.usedBytes += size;
        }
        return actual;
      },
      abandon: () => {
        if (failure) return;
        state = 'abandoned';
        uncount();
        // Still "receiving" until the bytes are on disk: a resume must see all of them.
        const done = stream.closed ? Promise.resolve() : new Promise<void>((resolve) => stream.once('close', () => resolve()));
        const settled = done.then(() => {
          this.receiving.delete(partial);
          this.settling.delete(partial);
          if (!sha256) rmSync(partial, { force: true });
        });
        this.settling.set(partial, settled);
        stream.end();
      },
    };
  }

  /** Bytes that may still be written where uploads go; unknown counts as plenty (then writes find out). */
  private freeBytes(): number {
    try {
      return this.disk.freeBytes(this.path('partial'));
    } catch {
      return Number.POSITIVE_INFINITY;
    }
  }

  /** Record a stored object as a shared file under a new unguessable id (128 random bits). */
  add(record: Omit<FileRecord, 'id'>): FileRecord {
    const full: FileRecord = { id: newFileId(), ...record };
    writeFileSync(this.path('records', `${full.id}.json`), JSON.stringify(full));
    this.records.set(full.id, full);
    return full;
  }

  /** The file, if `principal` may fetch it: a room file by anyone, a private file by its two parties only. */
  get(id: string, principal: string): FileRecord | undefined {
    const record = this.records.get(id) ?? this.loadRecord(id);
    if (!record) return undefined;
    if (record.toKey !== undefined && principal !== record.fromKey && principal !== record.toKey) return undefined;
    return record;
  }

  /** Forget a record that was never announced (its room refused to number it). */
  forget(id: string): void {
    this.records.delete(id);
    rmSync(this.path('records', `${id}.json`), { force: true });
  }

  /** Set the room seq of a record once it is known (cluster mode numbers events through Redis). */
  setSeq(id: string, seq: number): FileRecord {
    const record = { ...this.records.get(id)!, seq };
    writeFileSync(this.path('records', `${id}.json`), JSON.stringify(record));
    this.records.set(id, record);
    return record;
  }

  /** A record another process (a --workers sibling sharing this directory) wrote after this one started. */
  private loadRecord(id: string): FileRecord | undefined {
    if (!/^[A-Za-z0-9_-]+$/.test(id)) return undefined;
    try {
      const record = JSON.parse(readFileSync(this.path('records', `${id}.json`), 'utf8')) as FileRecord;
      this.records.set(record.id, record);
      return record;
    } catch {
      return undefined;
    }
  }

  objectPath(sha256: string): string {
    return this.path('objects', sha256);
  }

  /**
   * Records on disk that this process has not seen: other nodes of a cluster (or --workers siblings) sharing this
   * directory write them. Only a shared directory has them; a listing reads the directory afresh.
   */
  private loadRecords(): void {
    if (this.root === null) return;
    for (const entry of readdirSync(this.path('records'))) {
      if (!entry.endsWith('.json') || this.records.has(entry.slice(0, -'.json'.length))) continue;
      try {
        const record = JSON.parse(readFileSync(this.path('records', entry), 'utf8')) as FileRecord;
        this.records.set(record.id, record);
      } catch {
        // a record half-written by a crash (or being written right now): ignore it
      }
    }
  }

  roomFiles(room: string): FileRecord[] {
    this.loadRecords();
    return [...this.records.values()].filter((r) => r.room === room).sort((a, b) => a.ts.localeCompare(b.ts));
  }

  privateFiles(principal: string): FileRecord[] {
    this.loadRecords();
    return [...this.records.values()]
      .filter((r) => r.toKey !== undefined && (r.fromKey === principal || r.toKey === principal))
      .sort((a, b) => a.ts.localeCompare(b.ts));
  }

  /** Forget expired files, delete bytes nothing refers to, and stale partial uploads. */
  sweep(now = Date.now()): void {
    if (this.root === null) return;
    for (const record of [...this.records.values()]) {
      if (now - Date.parse(record.ts) > this.limits.expiryMs) {
        this.records.delete(record.id);
        rmSync(this.path('records', `${record.id}.json`), { force: true });
      }
    }
    const referenced = new Set([...this.records.values()].map((r) => r.sha256));
    for (const entry of readdirSync(this.path('objects'))) {
      if (!referenced.has(entry)) {
        const file = this.path('objects', entry);
        const { size } = statSync(file);
        unlinkSync(file);
        this.usedBytes -= size;
      }
    }
    for (const entry of readdirSync(this.path('partial'))) {
      const file = this.path('partial', entry);
      if (now - statSync(file).mtimeMs > PARTIAL_EXPIRY_MS) rmSync(file, { force: true });
    }
  }

  /** Resolves once the interrupted uploads' last bytes are on disk (their files are closed), or after `ms`. */
  async settled(ms = 5000): Promise<void> {
    if (this.settling.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms).unref()));
    await Promise.race([Promise.all(this.settling.values()).then(() => {}, () => {}), late]);
    clearTimeout(timer);
  }

  close(): void {
    if (this.temporary && this.root !== null) rmSync(this.root, { recursive: true, force: true });
  }
}

export function toFileEvent(record: FileRecord): FileEvent {
  const { id, name, size, sha256, from, room, to, ts, seq } = record;
  return {
    type: 'file',
    ...(room !== undefined && { room }),
    ...(to !== undefined && { to }),
    from,
    file: id,
    name,
    size,
    sha256,
    ts,
    ...(seq !== undefined && { seq }),
    ...voiceFields(record),
  };
}

/** A write error as the client hears it. */
export function storageFailure(error: unknown): FileError {
  return isOutOfSpace(error)
    ? new FileError(ErrorCode.no_space, 'the server\'s disk filled up while storing the file; nothing was kept; try again later')
    : new FileError(ErrorCode.unavailable, 'the server could not write the file; nothing was kept; try again later');
}

function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}

/** 128 random bits in base64url, never starting with `-`: `chat get -abc…` would read the id as an option. */
export function newFileId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (id[0] !== '-') return id;
  }
}
