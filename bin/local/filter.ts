/**
 * The subset of Lambda event filtering the stack uses: nested objects and lists of exact values.
 * A record matches when every leaf list of the pattern contains the record's value at that path.
 */
export type FilterPattern = { readonly [key: string]: FilterPattern | readonly (string | number | boolean)[] };

export function matchesFilter(pattern: FilterPattern, value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const record = value as Record<string, unknown>;
  return Object.entries(pattern).every(([key, expected]) =>
    Array.isArray(expected)
      ? expected.includes(record[key] as string | number | boolean)
      : matchesFilter(expected as FilterPattern, record[key]),
  );
}
