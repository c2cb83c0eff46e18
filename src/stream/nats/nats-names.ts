import { ValidationError } from '../../common/errors.ts';
import { fnv1a32 } from '../partition.ts';

/**
 * Where one topic lives in JetStream. Topics are grouped into streams by prefix: `mw.<project>.…`
 * topics share the project's stream `MW_<project>` (subjects `mw.<project>.>`), any other topic goes
 * to the stream of its first token. A topic's partition `p` is the subject `<topic>.p<p>`.
 */
export interface TopicPlace {
  topic: string;
  /** Data stream name. */
  stream: string;
  /** The data stream's one subject filter, `<root>.>`. */
  streamSubjects: string;
  /** Subject prefix of the topic's partitions (`<ns>.<topic>`). */
  topicSubject: string;
  /** Stream of the group records (leases + committed offsets) of the data stream. */
  metaStream: string;
  metaSubjects: string;
}

/** Names of one consumer group of one topic. */
export interface GroupPlace {
  /** Durable consumer name of partition `p`. */
  consumer(p: number): string;
  /** Subject of partition `p`'s group record in the meta stream. */
  record(p: number): string;
  /** Core NATS subject where the group's members announce themselves. */
  membership: string;
}

/** Checks a topic name for NATS: dot-separated non-empty tokens, no wildcards or white space. */
export function checkTopic(topic: string): void {
  if (typeof topic !== 'string' || topic.length === 0) throw new ValidationError('a stream topic must be a non-empty string');
  const tokens = topic.split('.');
  if (tokens.some((t) => t === '' || /[\s*>]/.test(t)) || /^[$_]/.test(tokens[0] ?? '')) {
    throw new ValidationError(
      `topic '${topic}' cannot be a NATS subject: use dot-separated tokens without spaces, '*' or '>', not starting with '$' or '_'`,
    );
  }
  if (tokens.length === 1 && tokens[0] === 'mw') throw new ValidationError(`topic 'mw' is reserved; use mw.<project>.<name>`);
}

/** Maps a topic to its stream and subjects (see {@link TopicPlace}). */
export function placeTopic(topic: string, namespace: string | undefined): TopicPlace {
  checkTopic(topic);
  const tokens = topic.split('.');
  const key = tokens[0] === 'mw' ? tokens.slice(0, 2).join('.') : (tokens[0] ?? topic);
  const ns = namespace ? `${namespace}.` : '';
  const project = tokens[0] === 'mw' ? (tokens[1] ?? '') : '';
  const stream =
    !namespace && /^[A-Za-z0-9_-]{1,64}$/.test(project) ? `MW_${project}` : `MW_X_${sanitize(`${namespace ?? ''}_${key}`, 40)}_${hash(`${ns}${key}`)}`;
  return {
    topic,
    stream,
    streamSubjects: `${ns}${key}.>`,
    topicSubject: `${ns}${topic}`,
    metaStream: metaStreamOf(stream),
    metaSubjects: `_mwmeta.${stream}.>`,
  };
}

/** The stream of the group records of data stream `stream`. */
export function metaStreamOf(stream: string): string {
  return `MWMETA_${stream}`;
}

/** Names the durable consumers, records and membership subject of `group` on `place`. */
export function placeGroup(place: TopicPlace, group: string): GroupPlace {
  if (typeof group !== 'string' || group.length === 0) throw new ValidationError('a stream group must be a non-empty string');
  const base = `${sanitize(group, 32)}_${hash(`${place.topic}\u0000${group}`)}`;
  return {
    consumer: (p) => `${base}_p${p}`,
    record: (p) => `_mwmeta.${place.stream}.${base}.p${p}`,
    membership: `_mwgrp.${place.stream}.${base}`,
  };
}

/** The subject of partition `p` of a topic. */
export function partitionSubject(place: TopicPlace, p: number): string {
  return `${place.topicSubject}.p${p}`;
}

function sanitize(text: string, max: number): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, max);
}

function hash(text: string): string {
  return fnv1a32(text).toString(16).padStart(8, '0');
}
