/**
 * Task ids encode their creation time and a shard, so the table's own keys serve "list newest
 * first" (a Query per day-and-shard partition, descending) without a secondary index to pay for.
 *
 *   id  = <10 chars: ms timestamp, Crockford base32><1 char: shard><12 chars: random>
 *   pk  = T#<yyyymmdd>#<shard>      sk (attribute `id`) = id
 */
import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const TIME_CHARS = 10;
const RANDOM_CHARS = 12;
/** Partitions per day. Changing it only affects ids created afterwards. */
export const SHARDS = 8;

const ID_PATTERN = new RegExp(`^[${ALPHABET}]{${TIME_CHARS}}[0-${SHARDS - 1}][${ALPHABET}]{${RANDOM_CHARS}}$`);

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

export function newTaskId(now: number = Date.now()): string {
  const bytes = randomBytes(RANDOM_CHARS + 1);
  const shard = bytes[RANDOM_CHARS] % SHARDS;
  let random = '';
  for (let i = 0; i < RANDOM_CHARS; i++) random += ALPHABET[bytes[i] % 32];
  return `${encodeTime(now)}${shard}${random}`;
}

/**
 * The id a seed always gives for a time: a schedule's tick becomes the same task id however often
 * Scheduler delivers it, so a conditional put makes the tick's task exactly once.
 */
export function derivedTaskId(seed: string, at: number): string {
  const digest = createHash('sha256').update(seed).digest();
  let random = '';
  for (let i = 0; i < RANDOM_CHARS; i++) random += ALPHABET[digest[i] % 32];
  return `${encodeTime(at)}${digest[RANDOM_CHARS] % SHARDS}${random}`;
}

export const isTaskId = (id: string): boolean => ID_PATTERN.test(id);

export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');

export const partitionKey = (day: string, shard: number): string => `T#${day}#${shard}`;

/** The table key of a task's state item, derived from its id alone. */
export function taskKey(id: string): { pk: string; id: string } {
  const created = decodeTime(id.slice(0, TIME_CHARS));
  const shard = Number(id[TIME_CHARS]);
  return { pk: partitionKey(dayOf(created), shard), id };
}

export const createdAtOf = (id: string): number => decodeTime(id.slice(0, TIME_CHARS));

/**
 * Sort-key bounds (for BETWEEN) of the ids created in [from, to): every id created at `t` starts
 * with the time prefix of `t` and sorts after it, and before the prefix of any later time.
 */
export const idRange = (from: number, to: number): { low: string; high: string } => ({ low: encodeTime(from), high: encodeTime(to) });
