// The bounded workloads: traffic (fanout and rooms), idle connections, churn. Each takes a started Target,
// drives it from this process, reads the server's CPU and memory from /proc and returns plain figures.

import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { benchText, Member, newTally, openMembers, openSender, settle } from './load.js';
import { cpuSeconds, eventLoopCpuSeconds, memory, openHandles, sleep, type Target } from './targets.js';

export interface TrafficSpec {
  rooms: number;
  membersPerRoom: number;
  publishersPerRoom: number;
  /** Messages a publisher may have sent and not yet seen echoed back. */
  window: number;
  seconds: number;
  /** Fixed offered load in messages per second per publisher; undefined: as fast as the window allows. */
  rate?: number | undefined;
  textBytes: number;
  /** Non-publishing members per room whose deliveries are timed too (spread over the join order). */
  sampledPerRoom: number;
  /** The same traffic, unmeasured, before the run (default 1 s): a fresh Node server runs its first second or so
   * in code V8 has not optimized yet, and a long-running server never does. */
  warmupSeconds?: number;
}

export interface TrafficResult {
  deliveriesPerSec: number;
  messagesPerSec: number;
  sent: number;
  expected: number;
  delivered: number;
  lost: number;
  latencyMs: { p50: number; p99: number; max: number; samples: number };
  serverCpuSeconds: number;
  serverCpuShare: number;
  /** The main thread's share of a core (the event loop): of the first node, or the --workers primary. */
  eventLoopCpuShare: number;
  serverPeakRssMiB: number;
  loadCpuShare: number;
  setupSeconds: number;
  /** Fixed-rate runs: sends the window did not allow when they were due. */
  behindSchedule: number;
}

interface Publisher {
  index: number;
  room: string;
  out: net.Socket;
  inflight: number;
  seq: number;
  /** `seq` when the current phase (warm-up or run) began. */
  phaseStartSeq: number;
  times: number[];
}

export async function traffic(target: Target, spec: TrafficSpec): Promise<TrafficResult> {
  const { dialect } = target;
  const tally = newTally();
  const setupStart = performance.now();
  const M = spec.membersPerRoom;
  const P = Math.min(spec.publishersPerRoom, M);
  // Publishers close each stretch of the join order, so the last one is the last member a fan-out reaches.
  const publisherSlots = new Set(Array.from({ length: P }, (_, k) => Math.floor(((k + 1) * M) / P) - 1));
  const sampledSlots = new Set<number>();
  for (let k = 0; sampledSlots.size < Math.min(spec.sampledPerRoom, M - P) && k < M; k++) {
    const slot = Math.floor((k * M) / Math.max(1, spec.sampledPerRoom));
    if (!publisherSlots.has(slot)) sampledSlots.add(slot);
    else if (!publisherSlots.has(slot + 1) && slot + 1 < M) sampledSlots.add(slot + 1);
  }
  const total = spec.rooms * M;
  const members = await openMembers(total, spec.rooms === 1 ? 16 : 128, (i) => {
    const slot = i % M;
    const room = `r${Math.floor(i / M)}`;
    const port = target.nodes ? target.nodes[i % target.nodes.length]!.port : target.port;
    const member = new Member(port, tally, publisherSlots.has(slot) || sampledSlots.has(slot));
    member.socket.write(dialect.join(room, `n${i}`));
    return member;
  });
  const publishers: Publisher[] = [];
  for (let i = 0; i < total; i++) {
    if (!publisherSlots.has(i % M)) continue;
    const index = publishers.length;
    const member = members[i]!;
    const out = dialect.separatePublisher ? await openSender(target.port) : member.socket;
    const publisher: Publisher = { index, room: `r${Math.floor(i / M)}`, out, inflight: 0, seq: 0, phaseStartSeq: 0, times: [] };
    tally.sendTimes[index] = publisher.times;
    member.reader.ownPublisher = index;
    member.onAcks = (count) => {
      publisher.inflight -= count;
      if (spec.rate === undefined) pump(publisher);
    };
    publishers.push(publisher);
  }
  await settle(members);
  const setupSeconds = (performance.now() - setupStart) / 1000;

  let running = false;
  let behindSchedule = 0;
  const pump = (p: Publisher, due = Infinity): void => {
    if (!running) return;
    let out = '';
    const now = performance.now();
    while (p.inflight < spec.window && due > 0) {
      out += dialect.publish(p.room, benchText(p.index, p.seq, spec.textBytes));
      p.times.push(now);
      p.seq++;
      p.inflight++;
      due--;
    }
    if (due !== Infinity) behindSchedule += due;
    if (out) p.out.write(out);
  };
  /** Publish for `seconds` (as fast as the window allows, or at the fixed rate); returns the seconds it took. */
  const phase = async (seconds: number): Promise<number> => {
    for (const p of publishers) p.phaseStartSeq = p.seq;
    running = true;
    const t0 = performance.now();
    let ticker: NodeJS.Timeout | null = null;
    if (spec.rate === undefined) {
      for (const p of publishers) pump(p);
    } else {
      const rate = spec.rate;
      const tick = () => {
        const elapsed = (performance.now() - t0) / 1000;
        for (const p of publishers) pump(p, Math.floor(elapsed * rate) + 1 - (p.seq - p.phaseStartSeq));
      };
      tick();
      ticker = setInterval(tick, 5);
    }
    await sleep(seconds * 1000);
    running = false;
    if (ticker) clearInterval(ticker);
    return (performance.now() - t0) / 1000;
  };
  const sentSincePhaseStart = () => publishers.reduce((sum, p) => sum + p.seq - p.phaseStartSeq, 0);
  const received = () => members.reduce((sum, member) => sum + member.received, 0);
  const drain = async (expected: number) => {
    const deadline = Date.now() + 15_000;
    while (received() < expected && Date.now() < deadline) await sleep(20);
  };

  const warmupSeconds = spec.warmupSeconds ?? 1;
  let warmupLost = 0;
  if (warmupSeconds > 0) {
    for (const member of members) member.received = 0;
    await phase(warmupSeconds);
    const warmupExpected = sentSincePhaseStart() * M;
    await drain(warmupExpected);
    warmupLost = Math.max(0, warmupExpected - received());
  }

  for (const member of members) member.received = 0;
  tally.delivered = 0;
  behindSchedule = 0;
  tally.recording = true;
  const serverPids = () => target.cpuPids?.() ?? (target.nodes ?? [target]).map((node) => node.pid);
  const serverCpu = () => serverPids().reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const cpu0 = serverCpu();
  const loop0 = eventLoopCpuSeconds(target.pid);
  const load0 = process.cpuUsage();
  const elapsed = await phase(spec.seconds);
  const deliveredInWindow = tally.delivered;
  const cpu1 = serverCpu();
  const loop1 = eventLoopCpuSeconds(target.pid);
  const load = process.cpuUsage(load0);

  // Drain: every message sent must reach every member of its room.
  const sent = sentSincePhaseStart();
  const expected = sent * M;
  await drain(expected);
  await sleep(50);
  const delivered = received();
  const { peakKiB } = memory(target.pid);
  if (dialect.separatePublisher) for (const p of publishers) p.out.destroy();
  for (const member of members) member.close();

  const latencies = Float64Array.from(tally.latencies).sort();
  const at = (q: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! : NaN);
  return {
    deliveriesPerSec: deliveredInWindow / elapsed,
    messagesPerSec: sent / elapsed,
    sent,
    expected,
    delivered,
    // A message the warm-up lost is lost all the same.
    lost: expected - delivered + warmupLost,
    latencyMs: { p50: at(0.5), p99: at(0.99), max: latencies.length ? latencies[latencies.length - 1]! : NaN, samples: latencies.length },
    serverCpuSeconds: cpu1 - cpu0,
    serverCpuShare: (cpu1 - cpu0) / elapsed,
    // Several processes have several event loops: no one figure.
    eventLoopCpuShare: target.cpuPids || target.nodes ? NaN : (loop1 - loop0) / elapsed,
    serverPeakRssMiB: peakKiB / 1024,
    loadCpuShare: (load.user + load.system) / 1e6 / elapsed,
    setupSeconds,
    behindSchedule,
  };
}

export interface IdleResult {
  connections: number;
  joinSeconds: number;
  /** Server CPU seconds from the first connection to the last join answered. */
  joinCpuSeconds: number;
  baseRssMiB: number;
  /** 1 s after the last join. */
  joinedRssMiB: number;
  /** Once the server has sat idle until its RSS stopped falling (settledRss). */
  rssMiB: number;
  kibPerConnectionJoined: number;
  kibPerConnection: number;
  /** RSS growth from half the connections to all of them, per connection, after the joins: what one more costs. */
  marginalKibPerConnection: number;
  serverPeakRssMiB: number;
}

/**
 * Read `read()` every `everyMs` until it has not moved for `quietMs` (at most `maxMs`), and return the last reading.
 * `moved(since, now)` says whether `now` differs enough from the reading the quiet began at.
 */
async function steadyReading(
  read: () => number,
  moved: (since: number, now: number) => boolean,
  { quietMs, maxMs, everyMs }: { quietMs: number; maxMs: number; everyMs: number },
): Promise<number> {
  const start = Date.now();
  let since = read();
  let sinceAt = start;
  let last = since;
  while (Date.now() - sinceAt < quietMs && Date.now() - start < maxMs) {
    await sleep(everyMs);
    last = read();
    if (moved(since, last)) {
      since = last;
      sinceAt = Date.now();
    }
  }
  return last;
}

/** RSS once it has not fallen for 12 s (a server may give memory back when idle), at most 45 s; falls of under 1%
 * are noise, not memory given back. */
function settledRss(pid: number): Promise<number> {
  return steadyReading(() => memory(pid).rssKiB, (since, now) => now < since * 0.99, { quietMs: 12_000, maxMs: 45_000, everyMs: 1000 });
}

export async function idle(target: Target, connections: number, rooms: number): Promise<IdleResult> {
  const tally = newTally();
  const base = memory(target.pid).rssKiB;
  const cpu0 = cpuSeconds(target.pid);
  const t0 = performance.now();
  const half = Math.floor(connections / 2);
  const open = (offset: number) => (i: number) => {
    const member = new Member(target.port, tally, false);
    member.socket.write(target.dialect.join(`r${(offset + i) % rooms}`, `n${offset + i}`));
    return member;
  };
  const first = await openMembers(half, 256, open(0));
  const firstSeconds = (performance.now() - t0) / 1000;
  const firstCpu = cpuSeconds(target.pid) - cpu0;
  await settle(first, 300);
  const halfKiB = memory(target.pid).rssKiB;
  const t1 = performance.now();
  const cpu1 = cpuSeconds(target.pid);
  const second = await openMembers(connections - half, 256, open(half));
  // The pause between the halves (settling, reading RSS) is no join's time.
  const joinSeconds = firstSeconds + (performance.now() - t1) / 1000;
  const joinCpuSeconds = firstCpu + cpuSeconds(target.pid) - cpu1;
  const members = first.concat(second);
  await settle(members, 300);
  await sleep(1000);
  const joinedKiB = memory(target.pid).rssKiB;
  const settledKiB = await settledRss(target.pid);
  const { peakKiB } = memory(target.pid);
  for (const member of members) member.close();
  return {
    connections,
    joinSeconds,
    joinCpuSeconds,
    baseRssMiB: base / 1024,
    joinedRssMiB: joinedKiB / 1024,
    rssMiB: settledKiB / 1024,
    kibPerConnectionJoined: (joinedKiB - base) / connections,
    kibPerConnection: (settledKiB - base) / connections,
    marginalKibPerConnection: (joinedKiB - halfKiB) / (connections - half),
    serverPeakRssMiB: peakKiB / 1024,
  };
}

export interface ChurnResult {
  rounds: number;
  perRound: number;
  handlesBefore: number;
  handlesAfter: number;
  baseRssMiB: number;
  firstRoundRssMiB: number;
  midRoundRssMiB: number;
  lastRoundRssMiB: number;
  /**
   * RSS after the last round over RSS after the middle one, in percent. The first rounds grow the heap to its
   * working size (V8 keeps it); a leak keeps growing through the second half.
   */
  growthPct: number;
  seconds: number;
  rssAfterRoundMiB: number[];
}

/** Connections join, talk and leave in a loop; the server's handles and memory must come back. */
export async function churn(target: Target, rounds: number, perRound: number): Promise<ChurnResult> {
  const tally = newTally();
  const talker = (round: number | string) => (i: number) => {
    const member = new Member(target.port, tally, false);
    const room = `c${i % 10}`;
    member.socket.write(target.dialect.join(room, `c${round}-${i}`) + target.dialect.publish(room, benchText(0, i, 100)));
    return member;
  };
  // Warm-up: the first stored message starts what stays for the server's life (the history checkpoint thread).
  const warm = await openMembers(1, 1, talker('warm'));
  await settle(warm, 50);
  warm[0]!.close();
  const handlesBefore = await steadyHandles(target.pid);
  const base = memory(target.pid).rssKiB;
  const rssAfter: number[] = [];
  const t0 = performance.now();
  for (let round = 0; round < rounds; round++) {
    const members = await openMembers(perRound, 128, talker(round));
    await settle(members, 50);
    for (const member of members) member.socket.end();
    const deadline = Date.now() + 10_000;
    while (openHandles(target.pid) > handlesBefore && Date.now() < deadline) await sleep(20);
    for (const member of members) member.close();
    rssAfter.push(memory(target.pid).rssKiB);
  }
  // Closed sessions may linger half-open for up to 5 s (session.ts LINGER_MS): let them go before the last reading.
  await sleep(6000);
  const first = rssAfter[0]!;
  const mid = rssAfter[Math.floor((rounds - 1) / 2)]!;
  const last = memory(target.pid).rssKiB;
  return {
    rounds,
    perRound,
    handlesBefore,
    handlesAfter: openHandles(target.pid),
    baseRssMiB: base / 1024,
    firstRoundRssMiB: first / 1024,
    midRoundRssMiB: mid / 1024,
    lastRoundRssMiB: last / 1024,
    growthPct: ((last - mid) / mid) * 100,
    seconds: (performance.now() - t0) / 1000,
    rssAfterRoundMiB: rssAfter.map((kib) => Math.round(kib / 102.4) / 10),
  };
}

/** The process's open handles once they have not changed for 1.5 s (past the first checkpoint; at most 10 s). */
function steadyHandles(pid: number): Promise<number> {
  return steadyReading(() => openHandles(pid), (since, now) => now !== since, { quietMs: 1500, maxMs: 10_000, everyMs: 50 });
}

export interface ResumeResult {
  connections: number;
  rooms: number;
  /** Messages each room held before the restart, and how many of the newest each client had missed. */
  messagesPerRoom: number;
  missedPerClient: number;
  /** From the first reconnection to the last missed message delivered. */
  seconds: number;
  serverCpuSeconds: number;
  lost: number;
  duplicated: number;
}

/**
 * A reconnect storm (ours only): rooms hold history, the server restarts (a clean stop, the same data dir), and
 * every client joins again with `since`, as the client does after a reconnection. Each must get exactly the
 * messages it missed: none lost, none twice.
 */
export async function resume(target: Target, connections: number, rooms: number, messagesPerRoom: number, missedPerClient: number): Promise<ResumeResult> {
  if (!target.restart) throw new Error('resume needs a server that can restart on its data dir');
  const tally = newTally();
  const talkers = await openMembers(rooms, 64, (r) => {
    const talker = new Member(target.port, tally, false);
    const says = Array.from({ length: messagesPerRoom }, (_, k) => target.dialect.publish(`r${r}`, benchText(r, k, 100)));
    talker.socket.write(target.dialect.join(`r${r}`, `t${r}`) + says.join(''));
    return talker;
  });
  const deadline = Date.now() + 30_000;
  while (talkers.some((talker) => talker.received < messagesPerRoom) && Date.now() < deadline) await sleep(20);
  for (const talker of talkers) talker.close();
  await target.restart();

  const since = messagesPerRoom - missedPerClient;
  const cpu0 = cpuSeconds(target.pid);
  const t0 = performance.now();
  const clients = await openMembers(connections, 256, (i) => {
    const client = new Member(target.port, tally, false);
    client.socket.write(`{"type":"join","room":"r${i % rooms}","nick":"n${i}","since":${since}}\n`);
    return client;
  });
  const expected = connections * missedPerClient;
  const received = () => clients.reduce((sum, client) => sum + client.received, 0);
  const until = Date.now() + 60_000;
  while (received() < expected && Date.now() < until) await sleep(10);
  const seconds = (performance.now() - t0) / 1000;
  const serverCpuSeconds = cpuSeconds(target.pid) - cpu0;
  await settle(clients, 300); // a message delivered twice would come now
  let lost = 0;
  let duplicated = 0;
  for (const client of clients) {
    lost += Math.max(0, missedPerClient - client.received);
    duplicated += Math.max(0, client.received - missedPerClient);
    client.close();
  }
  return { connections, rooms, messagesPerRoom, missedPerClient, seconds, serverCpuSeconds, lost, duplicated };
}

export interface HistoryJoinsResult {
  connections: number;
  rooms: number;
  messagesPerRoom: number;
  /** Records of history each joiner got with its join (the last page). */
  pagePerClient: number;
  seconds: number;
  serverCpuSeconds: number;
  /** Joiners that got fewer records than the page (must be 0). */
  short: number;
}

/**
 * Joins into rooms that hold history (ours only, issue 17): each room gets `messagesPerRoom` messages, then
 * `connections` clients join, each getting the room's last page with its join: the time until every one has it.
 */
export async function historyJoins(target: Target, connections: number, rooms: number, messagesPerRoom: number): Promise<HistoryJoinsResult> {
  const tally = newTally();
  const talkers = await openMembers(rooms, 64, (r) => {
    const talker = new Member(target.port, tally, false);
    const says = Array.from({ length: messagesPerRoom }, (_, k) => target.dialect.publish(`r${r}`, benchText(r, k, 100)));
    talker.socket.write(target.dialect.join(`r${r}`, `t${r}`) + says.join(''));
    return talker;
  });
  const deadline = Date.now() + 30_000;
  while (talkers.some((talker) => talker.received < messagesPerRoom) && Date.now() < deadline) await sleep(20);
  // How long the last page is: what one joiner gets.
  const probe = new Member(target.port, tally, false);
  probe.socket.write(target.dialect.join('r0', 'probe'));
  await probe.answered;
  await settle([probe], 300);
  const page = probe.received;
  probe.close();
  await settle(talkers, 300);

  const cpu0 = cpuSeconds(target.pid);
  const t0 = performance.now();
  const clients = await openMembers(connections, 256, (i) => {
    const client = new Member(target.port, tally, false);
    client.socket.write(target.dialect.join(`r${i % rooms}`, `n${i}`));
    return client;
  });
  const expected = connections * page;
  const received = () => clients.reduce((sum, client) => sum + Math.min(page, client.received), 0);
  const until = Date.now() + 60_000;
  while (received() < expected && Date.now() < until) await sleep(10);
  const seconds = (performance.now() - t0) / 1000;
  const serverCpuSeconds = cpuSeconds(target.pid) - cpu0;
  const short = clients.filter((client) => client.received < page).length;
  for (const member of [...clients, ...talkers]) member.close();
  return { connections, rooms, messagesPerRoom, pagePerClient: page, seconds, serverCpuSeconds, short };
}
