/**
 * The subset of Lambda event filtering the stack uses: nested objects, lists of exact values, and
 * `{exists: boolean}` on a leaf. A record matches when every leaf of the pattern matches the
 * record's value at that path; as in Lambda, `exists: false` matches a path that is absent at any
 * depth.
 */
type Leaf = string | number | boolean | { readonly exists: boolean };
export type FilterPattern = { readonly [key: string]: FilterPattern | readonly Leaf[] };

const leafMatches = (expected: readonly Leaf[], actual: unknown): boolean =>
  expected.some((e) =>
    typeof e === 'object' ? (actual !== undefined && (actual === null || typeof actual !== 'object')) === e.exists : e === actual,
  );

export function matchesFilter(pattern: FilterPattern, value: unknown): boolean {
  const record = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  return Object.entries(pattern).every(([key, expected]) =>
    Array.isArray(expected) ? leafMatches(expected, record?.[key]) : matchesFilter(expected as FilterPattern, record?.[key]),
  );
}
