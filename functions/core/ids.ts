/**
 * Task ids encode their creation time and a shard, so the table's own keys serve "list newest
 * first" (a Query per day-and-shard partition, descending) without a secondary index to pay for.
 *
 *   id  = <10 chars: ms timestamp, Crockford base32><13 chars: shard and random>
 *   pk  = T#<yyyymmdd>#<shard>      sk (attribute `id`) = id
 *
 * Shards 0–7 take one character ('0'–'7') and leave 12 random ones: every id made before the
 * shard count was a setting. A higher shard takes two characters, the first from '8' on (so it
 * cannot be read as a narrow one), leaving 11 random ones (55 bits per millisecond and shard). An
 * id alone names its partition, whatever the deployment's shard count is now.
 */
import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const TIME_CHARS = 10;
const TAIL_CHARS = 13;
/** Random characters drawn for an id (a wide shard takes the place of the first). */
const RANDOM_CHARS = TAIL_CHARS - 1;
/** Shards written as one character: the ids of every deployment before the count was a setting. */
const NARROW_SHARDS = 8;
/** The most shards an id can name: the narrow ones, then 24 × 32 two-character ones. */
export const ID_SHARD_CAPACITY = NARROW_SHARDS + (ALPHABET.length - NARROW_SHARDS) * ALPHABET.length;
/**
 * Write shards (partition keys per day) unless the deployment says otherwise (SLUICE_WRITE_SHARDS):
 * each key takes at most 1,000 write units a second, and each listing page queries every one.
 */
export const DEFAULT_WRITE_SHARDS = 8;

// Any tail names some shard (below ID_SHARD_CAPACITY), so the shape is all an id must have.
const ID_PATTERN = new RegExp(`^[${ALPHABET}]{${TIME_CHARS + TAIL_CHARS}}$`);

function encodeTime(ms: number): string {
  let out = '';
  let rest = ms;
  for (let i = 0; i < TIME_CHARS; i++) {
    out = ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function decodeTime(chars: string): number {
  let ms = 0;
  for (const c of chars) ms = ms * 32 + ALPHABET.indexOf(c);
  return ms;
}

/** The characters that name a shard: one for the narrow ones, two beyond (see the header). */
function shardChars(shard: number): string {
  if (shard < NARROW_SHARDS) return ALPHABET[shard];
  const wide = shard - NARROW_SHARDS;
  return ALPHABET[NARROW_SHARDS + Math.floor(wide / ALPHABET.length)] + ALPHABET[wide % ALPHABET.length];
}

/** The shard an id names. */
export function shardOf(id: string): number {
  const first = ALPHABET.indexOf(id[TIME_CHARS]);
  if (first < NARROW_SHARDS) return first;
  return NARROW_SHARDS + (first - NARROW_SHARDS) * ALPHABET.length + ALPHABET.indexOf(id[TIME_CHARS + 1]);
}

/**
 * An id from its time, 12 random characters and two bytes that pick the shard. The bytes are read
 * low byte first, so with a count that divides 256 (8 included) the shard is the low byte's
 * remainder: derived ids stay the ones they were before the count was a setting.
 */
function composeId(at: number, random: string, pick: readonly [number, number], shards: number): string {
  if (!Number.isInteger(shards) || shards < 1 || shards > ID_SHARD_CAPACITY) {
    throw new RangeError(`an id names one of at most ${ID_SHARD_CAPACITY} shards, not ${shards}`);
  }
  const shard = shardChars((pick[0] | (pick[1] << 8)) % shards);
  return `${encodeTime(at)}${shard}${random.slice(0, TAIL_CHARS - shard.length)}`;
}

export function newTaskId(now: number = Date.now(), shards: number = DEFAULT_WRITE_SHARDS): string {
  const bytes = randomBytes(RANDOM_CHARS + 2);
  let random = '';
  for (let i = 0; i < RANDOM_CHARS; i++) random += ALPHABET[bytes[i] % 32];
  return composeId(now, random, [bytes[RANDOM_CHARS], bytes[RANDOM_CHARS + 1]], shards);
}

/**
 * The id a seed always gives for a time and shard count: a schedule's tick becomes the same task
 * id however often Scheduler delivers it, so a conditional put makes the tick's task exactly once.
 * (A redelivery after the count changed derives another id; the tick's run item, which names the
 * first one, still decides.)
 */
export function derivedTaskId(seed: string, at: number, shards: number = DEFAULT_WRITE_SHARDS): string {
  const digest = createHash('sha256').update(seed).digest();
  let random = '';
  for (let i = 0; i < RANDOM_CHARS; i++) random += ALPHABET[digest[i] % 32];
  return composeId(at, random, [digest[RANDOM_CHARS], digest[RANDOM_CHARS + 1]], shards);
}

export const isTaskId = (id: string): boolean => ID_PATTERN.test(id);

export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');

export const partitionKey = (day: string, shard: number): string => `T#${day}#${shard}`;

/**
 * Every partition key of a day, for a listing's fan-out: one Query each. A count lowered on a live
 * deployment would leave the tasks of the higher shards out, which is why it may only be raised.
 */
export const dayPartitionKeys = (day: string, shards: number): string[] =>
  Array.from({ length: shards }, (_, shard) => partitionKey(day, shard));

/** The table key of a task's state item, derived from its id alone. */
export function taskKey(id: string): { pk: string; id: string } {
  const created = decodeTime(id.slice(0, TIME_CHARS));
  return { pk: partitionKey(dayOf(created), shardOf(id)), id };
}

export const createdAtOf = (id: string): number => decodeTime(id.slice(0, TIME_CHARS));

/**
 * Sort-key bounds (for BETWEEN) of the ids created in [from, to): every id created at `t` starts
 * with the time prefix of `t` and sorts after it, and before the prefix of any later time.
 */
export const idRange = (from: number, to: number): { low: string; high: string } => ({ low: encodeTime(from), high: encodeTime(to) });
