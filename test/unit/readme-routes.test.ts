/**
 * The README's API table against the contract: every route the API serves is documented there,
 * and the table names no route the API does not have (the contract is the one definition).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { routeEntries } from '#api/contract.ts';

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## The HTTP API'), readme.indexOf('\n## ', readme.indexOf('## The HTTP API') + 3));

/** Each table row's first cell: `METHOD /path?query` · `/suffix` · `METHOD /other` … expanded to method and path. */
function documentedRoutes(): Set<string> {
  const routes = new Set<string>();
  for (const line of section.split('\n').filter((l) => l.startsWith('| `'))) {
    const cell = line.split('|')[1];
    let method = '';
    let base = '';
    for (const [, code] of cell.matchAll(/`([^`]+)`/g)) {
      const full = /^(GET|POST|PUT|PATCH|DELETE) (\S+)$/.exec(code);
      const path = (full ? full[2] : code).split('?')[0];
      if (full) {
        method = full[1];
        base = path;
        routes.add(`${method} ${path}`);
      } else {
        // `/resume` after `POST /x/{id}/pause`: the same method, the last segment replaced.
        routes.add(`${method} ${base.slice(0, base.lastIndexOf('/'))}${path}`);
      }
    }
  }
  return routes;
}

describe('the README API table', () => {
  it('documents every route of the contract and no other', () => {
    const contract = routeEntries()
      .filter(([operation]) => operation !== 'openApi')
      .map(([, r]) => `${r.method} ${r.path}`);
    expect([...documentedRoutes()].sort()).toEqual(contract.sort());
  });
});
