/**
 * The console's files, built in memory with esbuild from bin/console (nothing is written to disk
 * or committed): index.html, app.js (Preact and the views, minified) and app.css. The local
 * runtime and `sluice console` serve them under /console/.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), '..', 'console');
const UPLOT_CSS = createRequire(import.meta.url).resolve('uplot/dist/uPlot.min.css');

export interface ConsoleAsset {
  contentType: string;
  body: Buffer;
}

/** Path under /console/ → file. */
export type ConsoleAssets = ReadonlyMap<string, ConsoleAsset>;

export async function buildConsole(): Promise<ConsoleAssets> {
  const out = await build({
    entryPoints: [join(SOURCE, 'app.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    write: false,
    outdir: 'out',
    logLevel: 'silent',
  });
  const js = out.outputFiles.find((f) => f.path.endsWith('.js'));
  if (!js) throw new Error('the console did not build');
  return new Map([
    ['', { contentType: 'text/html; charset=utf-8', body: await readFile(join(SOURCE, 'index.html')) }],
    ['app.js', { contentType: 'text/javascript; charset=utf-8', body: Buffer.from(js.contents) }],
    // uPlot's own stylesheet (its legend and cursor), then the console's.
    [
      'app.css',
      {
        contentType: 'text/css; charset=utf-8',
        body: Buffer.concat([await readFile(UPLOT_CSS), await readFile(join(SOURCE, 'style.css'))]),
      },
    ],
  ]);
}

/** The gzipped size of what a browser downloads (JS and CSS), in bytes. */
export const gzippedSize = (assets: ConsoleAssets): number =>
  [...assets].filter(([name]) => name !== '').reduce((n, [, a]) => n + gzipSync(a.body).length, 0);

let built: Promise<ConsoleAssets> | undefined;
/** The console, built once per process on first use (not at every runtime's start). */
export const consoleAssets = (): Promise<ConsoleAssets> => {
  built ??= buildConsole();
  return built;
};

/** Answer a GET under /console/ from the assets; false when the request is not for the console. */
export function serveConsoleAsset(assets: () => Promise<ConsoleAssets>, req: IncomingMessage, res: ServerResponse): boolean {
  const path = new URL(`http://localhost${req.url ?? '/'}`).pathname;
  if (req.method !== 'GET' || (path !== '/console' && !path.startsWith('/console/'))) return false;
  if (path === '/console') {
    res.writeHead(308, { location: '/console/' }).end();
    return true;
  }
  assets().then(
    (files) => {
      const file = files.get(path.slice('/console/'.length));
      if (file) res.writeHead(200, { 'content-type': file.contentType, 'cache-control': 'no-cache' }).end(file.body);
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    },
    (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`the console did not build: ${error.message}`),
  );
  return true;
}
