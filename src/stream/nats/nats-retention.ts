import type { StoredMsg } from '@nats-io/jetstream';
import { apiErrorCode, getStoredMessage, toStreamError, type NatsLink } from './nats-connection.ts';
import { GroupRecords } from './group-records.ts';
import { baseOffsetOf } from './nats-pack.ts';

/*
 * Retention of one JetStream data stream, with the embedded log's rule: a message goes once it is
 * older than the cutoff and every consumer group of its topic has acknowledged it. Per partition
 * subject:
 * - the groups are those with a record of that partition in the record stream (a record names its
 *   topic; one written before records did protects partition p of every topic of the stream);
 * - a subject no group reads keeps its messages;
 * - the subject's last message always stays: a producer takes the partition's next offset from it,
 *   so the offsets of a partition whose every message went would start again at 0;
 * - messages go with a purge of the subject up to the first one kept (JetStream removes whole
 *   messages, so a pack goes once all its events may).
 * Group records only move forward, so a record read before the purge never lets it remove what
 * the group still needs.
 */

interface Floors {
  /** Per topic, per partition: the lowest stream sequence some group still has to read. */
  byTopic: Map<string, Map<number, number>>;
  /** Records that do not name their topic: per partition. */
  unnamed: Map<number, number>;
}

/**
 * Applies retention to `stream` (with its group records in `metaStream`); `namespace` is the
 * subject prefix of the handle's topics. Returns how many events went.
 */
export async function truncateNatsStream(link: NatsLink, stream: string, metaStream: string, namespace: string | undefined, cutoffMs: number): Promise<number> {
  const floors = await readFloors(link, stream, metaStream);
  const subjects = await subjectsOf(link, stream, '>');
  const prefix = namespace ? `${namespace}.` : '';
  let removed = 0;
  for (const subject of subjects) {
    const m = /^(.+)\.p(\d+)$/.exec(subject);
    if (!m || !m[1]!.startsWith(prefix)) continue;
    const topic = m[1]!.slice(prefix.length);
    const p = Number(m[2]);
    const needed = [floors.byTopic.get(topic)?.get(p), floors.unnamed.get(p)].filter((x): x is number => x !== undefined);
    if (needed.length === 0) continue;
    removed += await truncateSubject(link, stream, subject, Math.min(...needed), cutoffMs);
  }
  return removed;
}

async function truncateSubject(link: NatsLink, stream: string, subject: string, floor: number, cutoffMs: number): Promise<number> {
  const last = await getMessage(link, stream, { last_by_subj: subject });
  const first = await getMessage(link, stream, { seq: 1, next_by_subj: subject });
  if (!last || !first) return 0;
  // The last message stays, and so does every one some group has not read.
  let keep = Math.min(floor, last.seq);
  if (keep <= first.seq) return 0;
  // Messages are in time order: keep from the first one at or after the cutoff.
  keep = await firstNotBefore(link, stream, subject, first, keep, cutoffMs);
  if (keep <= first.seq) return 0;
  const kept = await getMessage(link, stream, { seq: keep, next_by_subj: subject });
  if (!kept) return 0;
  const res = await link.jsm.streams.purge(stream, { filter: subject, seq: kept.seq }).catch((err: unknown) => {
    throw toStreamError(err, `purging '${subject}' up to sequence ${kept.seq}`);
  });
  const a = baseOffsetOf(first.header);
  const b = baseOffsetOf(kept.header);
  return a !== undefined && b !== undefined && b >= a ? b - a : res.purged;
}

/**
 * The sequence of the subject's first message appended at or after `cutoffMs`, searched between
 * `first` (the subject's first message) and `end` (a sequence known to be kept); `end` if none.
 */
async function firstNotBefore(link: NatsLink, stream: string, subject: string, first: StoredMsg, end: number, cutoffMs: number): Promise<number> {
  if (timeOf(first) >= cutoffMs) return first.seq;
  // Invariant: the message at or after `lo` that is the subject's is older than the cutoff; every message from `hi` on is kept.
  let lo = first.seq;
  let hi = end;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const m = await getMessage(link, stream, { seq: mid, next_by_subj: subject });
    if (!m || m.seq >= hi) hi = mid;
    else if (timeOf(m) >= cutoffMs) hi = m.seq;
    else lo = m.seq;
  }
  return hi;
}

async function readFloors(link: NatsLink, stream: string, metaStream: string): Promise<Floors> {
  const records = new GroupRecords(link, metaStream);
  const floors: Floors = { byTopic: new Map(), unnamed: new Map() };
  const lower = (m: Map<number, number>, p: number, seq: number) => m.set(p, Math.min(m.get(p) ?? Number.POSITIVE_INFINITY, seq));
  for (const subject of await subjectsOf(link, metaStream, `_mwmeta.${stream}.>`)) {
    const p = /\.p(\d+)$/.exec(subject)?.[1];
    if (p === undefined) continue;
    const r = await records.read(subject);
    if (!r) continue;
    if (r.topic === undefined) lower(floors.unnamed, Number(p), r.seq);
    else {
      let byP = floors.byTopic.get(r.topic);
      if (!byP) floors.byTopic.set(r.topic, (byP = new Map()));
      lower(byP, Number(p), r.seq);
    }
  }
  return floors;
}

/** The subjects that hold messages in `stream`. */
async function subjectsOf(link: NatsLink, stream: string, filter: string): Promise<string[]> {
  try {
    const info = await link.jsm.streams.info(stream, { subjects_filter: filter });
    return Object.keys(info.state.subjects ?? {});
  } catch (err) {
    if (apiErrorCode(err) === 10059) return []; // no such stream (yet)
    throw toStreamError(err, `listing the subjects of stream '${stream}'`);
  }
}

function timeOf(m: StoredMsg): number {
  return m.time.getTime();
}

function getMessage(link: NatsLink, stream: string, query: { seq: number; next_by_subj: string } | { last_by_subj: string }): Promise<StoredMsg | null> {
  return getStoredMessage(link, stream, query, `reading stream '${stream}'`);
}
