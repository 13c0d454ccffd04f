/**
 * The console: a single-page app over Sluice's own HTTP API (same origin: the local runtime, or
 * `sluice console` forwarding signed calls to a deployed stack). Preact for the views; the shapes
 * come from the API contract (types only: no schema code reaches the browser).
 */
import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import type { LaneView, LimitView, ScheduleView, StatsView, TaskEventView, TaskView } from '#api/contract.ts';
import { PRIORITIES, STATUSES } from '#core/model.ts';

type Page<T> = { items: T[]; cursor: string | null };
type ApiError = { error?: { code?: string; message?: string } };

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const parsed = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) throw new Error((parsed as ApiError)?.error?.message ?? `${method} ${path}: ${res.status}`);
  return parsed as T;
}

/**
 * Polls `load` every `ms` while mounted and the page is visible (a hidden tab costs no reads: some
 * of them are CloudWatch's, billed per metric); keeps the last value while a refresh is on its way.
 */
function usePolled<T>(load: () => Promise<T>, ms: number, deps: unknown[]): { value?: T; error?: string; reload: () => void } {
  const [value, setValue] = useState<T>();
  const [error, setError] = useState<string>();
  const [tick, setTick] = useState(0);
  // The caller names what `load` depends on (`deps`).
  useEffect(() => {
    let live = true;
    // One load at a time: when the API is slower than the period, ticks are skipped rather than
    // piling requests up behind the browser's six connections per host (where a click's POST waits too).
    let loading = false;
    const run = () => {
      if (loading) return;
      loading = true;
      load()
        .then(
          (v) => {
            if (!live) return;
            setValue(v);
            setError(undefined);
          },
          (e: Error) => {
            if (live) setError(e.message);
          },
        )
        .finally(() => {
          loading = false;
        });
    };
    run();
    const timer = setInterval(() => {
      if (!document.hidden) run();
    }, ms);
    const onVisible = () => {
      if (!document.hidden) run();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      live = false;
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [...deps, tick]);
  return { value, error, reload: () => setTick((t) => t + 1) };
}

/** The route is the hash: `#/tasks?status=FAILED`, `#/tasks/<id>`, `#/schedules`, `#/limits`. */
function useRoute(): { path: string; query: URLSearchParams } {
  const read = () => {
    const [path, search = ''] = (location.hash.slice(1) || '/').split('?');
    return { path, query: new URLSearchParams(search) };
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleTimeString() : '—');
const Json = ({ value }: { value: unknown }) => <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
const Status = ({ status }: { status: string }) => <span class={`status s-${status.toLowerCase()}`}>{status}</span>;

/** A labelled select of fixed options (`any`: a first, empty option). */
function Choice(props: {
  label: string;
  name?: string;
  value: string;
  options: readonly string[];
  any?: boolean;
  onChange: (value: string) => void;
}) {
  return (
    <label>
      {props.label}
      <select name={props.name} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {props.any ? <option value="">any</option> : null}
        {props.options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}

function Notice({ error }: { error?: string }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

// ── overview ─────────────────────────────────────────────────────────────────────────────────
/** Submitted, succeeded and failed per minute over the last hour, all lanes together (uPlot on a canvas). */
function ThroughputChart({ stats }: { stats?: StatsView }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  useEffect(() => {
    if (!box.current || !stats) return;
    const sum = (field: 'submitted' | 'succeeded' | 'failed') =>
      stats.minutes.map((_, i) => stats.lanes.reduce((n, lane) => n + lane[field][i], 0));
    const data: uPlot.AlignedData = [stats.minutes.map((m) => Date.parse(m) / 1000), sum('submitted'), sum('succeeded'), sum('failed')];
    if (chart.current) {
      chart.current.setData(data);
      return;
    }
    const dark = matchMedia('(prefers-color-scheme: dark)').matches;
    const axis = { stroke: dark ? '#c8c8c8' : '#333', grid: { stroke: dark ? '#3a3a3a' : '#e4e4e4' } };
    chart.current = new uPlot(
      {
        width: Math.min(box.current.clientWidth || 720, 960),
        height: 220,
        series: [
          {},
          { label: 'submitted', stroke: '#3b82f6', width: 2 },
          { label: 'succeeded', stroke: '#16a34a', width: 2 },
          { label: 'failed', stroke: '#dc2626', width: 2 },
        ],
        axes: [axis, axis],
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      },
      data,
      box.current,
    );
  }, [stats]);
  useEffect(() => () => chart.current?.destroy(), []);
  return <div ref={box} class="chart" role="img" aria-label="tasks submitted, succeeded and failed per minute, last hour" />;
}

function LaneSwitch({ lane, onDone }: { lane: LaneView; onDone: () => void }) {
  const [error, setError] = useState<string>();
  const action = lane.paused ? 'resume' : 'pause';
  const flip = async () => {
    try {
      await api('POST', `/lanes/${lane.name}/${action}`);
      setError(undefined);
    } catch (e) {
      setError((e as Error).message);
    }
    onDone();
  };
  return (
    <>
      <button type="button" onClick={flip} aria-label={`${action} the ${lane.name} lane`}>
        {lane.paused ? 'Resume' : 'Pause'}
      </button>
      <Notice error={error} />
    </>
  );
}

function Overview() {
  // Counts per status from the listing (a page of up to 100: "100+" beyond), one status after
  // another: a listing reads a day's partitions, so these are the overview's dearest reads, and
  // nine at once would hold every connection the browser opens to the API.
  const counts = usePolled(
    async () => {
      const found: { status: string; count: number; more: boolean }[] = [];
      for (const status of STATUSES) {
        const page = await api<Page<TaskView>>('GET', `/tasks?status=${status}&limit=100`);
        found.push({ status, count: page.items.length, more: page.cursor !== null });
      }
      return found;
    },
    5000,
    [],
  );
  const lanes = usePolled(() => api<{ items: LaneView[] }>('GET', '/lanes'), 3000, []);
  // Per-minute series: a refresh every 30 s is plenty (the API shares what it read for a minute on AWS).
  const stats = usePolled(() => api<StatsView>('GET', '/stats?minutes=60'), 30_000, []);
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <Notice error={counts.error ?? lanes.error ?? stats.error} />
      <h2>Tasks by status</h2>
      <ul class="counts" aria-label="tasks by status">
        {(counts.value ?? []).map((c) => (
          <li key={c.status}>
            <a href={`#/tasks?status=${c.status}`}>
              <Status status={c.status} /> <strong data-count={c.status}>{`${c.count}${c.more ? '+' : ''}`}</strong>
            </a>
          </li>
        ))}
      </ul>
      <h2>Per minute, last hour</h2>
      <ThroughputChart stats={stats.value} />
      <h2>Lanes</h2>
      <table aria-label="lanes">
        <thead>
          <tr>
            <th scope="col">Lane</th>
            <th scope="col">State</th>
            <th scope="col">Concurrency</th>
            <th scope="col">Ready</th>
            <th scope="col">In flight</th>
            <th scope="col">Delayed</th>
            <th scope="col">Dead letters</th>
            <th scope="col">Oldest message</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {(lanes.value?.items ?? []).map((l) => (
            <tr key={l.name}>
              <th scope="row">
                {(PRIORITIES as readonly string[]).includes(l.name) ? <a href={`#/tasks?priority=${l.name}`}>{l.name}</a> : l.name}
              </th>
              <td data-lane-state={l.name} title={l.changedAt ? `by ${l.changedBy} at ${when(l.changedAt)}` : l.mappingState}>
                {l.paused ? `paused${l.changedBy ? ` by ${l.changedBy}` : ''}` : 'consuming'}
              </td>
              <td>{`${l.maxConcurrency} × ${l.batchSize}`}</td>
              <td data-lane-visible={l.name}>{l.visible}</td>
              <td>{l.inFlight}</td>
              <td>{l.delayed}</td>
              <td>{l.dlq}</td>
              <td>{l.oldestQueuedAgeSeconds ? `${l.oldestQueuedAgeSeconds} s` : '—'}</td>
              <td>{l.mappingState === 'None' ? '—' : <LaneSwitch lane={l} onDone={lanes.reload} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

// ── tasks ────────────────────────────────────────────────────────────────────────────────────
const FILTERS = ['status', 'priority', 'type', 'tenant', 'schedule'] as const;

function TaskList({ query }: { query: URLSearchParams }) {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [message, setMessage] = useState<string>();
  const filter = FILTERS.filter((f) => query.get(f)).map((f) => `${f}=${encodeURIComponent(query.get(f) ?? '')}`);
  const cursor = cursors[cursors.length - 1];
  const page = usePolled(
    () => api<Page<TaskView>>('GET', `/tasks?${[...filter, 'limit=25', ...(cursor ? [`cursor=${cursor}`] : [])].join('&')}`),
    3000,
    [filter.join('&'), cursor],
  );
  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(query);
    if (value) next.set(name, value);
    else next.delete(name);
    setCursors([null]);
    location.hash = `#/tasks?${next}`;
  };
  const act = async (id: string, action: string) => {
    try {
      await api('POST', `/tasks/${id}/${action}`);
      setMessage(`${action}: ${id}`);
      page.reload();
    } catch (e) {
      setMessage((e as Error).message);
    }
  };
  return (
    <section aria-labelledby="tasks-title">
      <h1 id="tasks-title">Tasks</h1>
      <SubmitForm onSubmitted={page.reload} />
      <form class="filters" aria-label="filters" onSubmit={(e) => e.preventDefault()}>
        <Choice
          label="Status"
          name="status"
          any
          value={query.get('status') ?? ''}
          options={STATUSES}
          onChange={(v) => setFilter('status', v)}
        />
        <Choice
          label="Priority"
          name="priority"
          any
          value={query.get('priority') ?? ''}
          options={PRIORITIES}
          onChange={(v) => setFilter('priority', v)}
        />
        {(['type', 'tenant', 'schedule'] as const).map((f) => (
          <label key={f}>
            {f[0].toUpperCase() + f.slice(1)}
            <input name={f} value={query.get(f) ?? ''} onChange={(e) => setFilter(f, e.currentTarget.value.trim())} />
          </label>
        ))}
      </form>
      <BulkForm query={query} />
      <Notice error={page.error} />
      {message ? <output class="message">{message}</output> : null}
      <table aria-label="tasks">
        <thead>
          <tr>
            <th scope="col">
              <span class="visually-hidden">Select</span>
            </th>
            <th scope="col">Task</th>
            <th scope="col">Status</th>
            <th scope="col">Type</th>
            <th scope="col">Priority</th>
            <th scope="col">Tenant</th>
            <th scope="col">Progress</th>
            <th scope="col">Created</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(page.value?.items ?? []).map((t) => (
            <tr key={t.id} data-task={t.id} data-status={t.status}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`select ${t.id}`}
                  checked={selected.has(t.id)}
                  onChange={() => {
                    const next = new Set(selected);
                    if (!next.delete(t.id)) next.add(t.id);
                    setSelected(next);
                  }}
                />
              </td>
              <td>
                <a href={`#/tasks/${t.id}`}>{t.id}</a>
              </td>
              <td>
                <Status status={t.status} />
                {t.waitingFor ? <small> waiting for {`${t.waitingFor.scope} ${t.waitingFor.key}`}</small> : null}
              </td>
              <td>{t.type}</td>
              <td>{t.priority}</td>
              <td>{t.tenant}</td>
              <td>{t.progress ? `${t.progress.percent}%` : ''}</td>
              <td>{when(t.createdAt)}</td>
              <td class="actions">
                {['QUEUED', 'RUNNING', 'SCHEDULED', 'PAUSED'].includes(t.status) ? (
                  <button type="button" onClick={() => act(t.id, 'cancel')} aria-label={`cancel ${t.id}`}>
                    Cancel
                  </button>
                ) : null}
                {['FAILED', 'CANCELLED', 'SUCCEEDED'].includes(t.status) ? (
                  <button type="button" onClick={() => act(t.id, 'retry')} aria-label={`retry ${t.id}`}>
                    Retry
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav class="pager" aria-label="pages">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button
          type="button"
          disabled={!page.value?.cursor}
          onClick={() => page.value?.cursor && setCursors([...cursors, page.value.cursor])}
        >
          Next page
        </button>
      </nav>
    </section>
  );
}

const BULK_ACTIONS = ['retry', 'cancel', 'pause', 'resume', 'priority'] as const;

/** A bulk action on the list's current filter: a dry-run count first, then a confirmation. */
function BulkForm({ query }: { query: URLSearchParams }) {
  const [action, setAction] = useState<(typeof BULK_ACTIONS)[number]>('retry');
  const [priority, setPriority] = useState<string>('high');
  const [count, setCount] = useState<number>();
  const [error, setError] = useState<string>();
  const filter = Object.fromEntries(FILTERS.filter((f) => query.get(f)).map((f) => [f, query.get(f)]));
  const request = { filter, action, ...(action === 'priority' ? { priority } : {}) };
  const key = JSON.stringify(request);
  // A count belongs to one filter and action: any change asks for a new one.
  useEffect(() => setCount(undefined), [key]);
  const dryRun = async () => {
    try {
      setCount((await api<{ matching: number }>('POST', '/tasks/bulk', { ...request, dryRun: true })).matching);
      setError(undefined);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const apply = async () => {
    try {
      const bulk = await api<TaskView>('POST', '/tasks/bulk', request);
      location.hash = `#/tasks/${bulk.id}`;
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <details class="submit">
      <summary>Bulk action on this filter</summary>
      <form aria-label="bulk action" onSubmit={(e) => e.preventDefault()}>
        <Choice label="Action" name="bulk-action" value={action} options={BULK_ACTIONS} onChange={(v) => setAction(v as typeof action)} />
        {action === 'priority' ? <Choice label="New priority" value={priority} options={PRIORITIES} onChange={setPriority} /> : null}
        <button type="button" onClick={dryRun}>
          Count matching
        </button>
        {count !== undefined ? (
          <>
            <output data-bulk-count={count}>{`${count} task${count === 1 ? '' : 's'} match${count === 1 ? 'es' : ''}`}</output>
            <button type="button" disabled={count === 0} onClick={apply}>
              {`Apply ${action} to ${count}`}
            </button>
          </>
        ) : null}
        <Notice error={error} />
      </form>
    </details>
  );
}

function SubmitForm({ onSubmitted }: { onSubmitted: () => void }) {
  const [error, setError] = useState<string>();
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    try {
      const payload = String(form.get('payload') || 'null');
      const task = await api<TaskView>('POST', '/tasks', {
        type: String(form.get('type')),
        payload: JSON.parse(payload) as unknown,
        priority: String(form.get('priority')),
      });
      setError(undefined);
      onSubmitted();
      location.hash = `#/tasks/${task.id}`;
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <details class="submit">
      <summary>Submit a task</summary>
      <form onSubmit={submit} aria-label="submit a task">
        <label>
          Type
          <input name="type" required value="echo" />
        </label>
        <label>
          Priority
          <select name="priority">
            {PRIORITIES.map((p) => (
              <option key={p} value={p} selected={p === 'normal'}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label>
          Payload (JSON)
          <textarea name="payload" rows={3}>
            {'{"hello": "console"}'}
          </textarea>
        </label>
        <button type="submit">Submit</button>
        <Notice error={error} />
      </form>
    </details>
  );
}

// ── one task ─────────────────────────────────────────────────────────────────────────────────
function TaskPage({ id }: { id: string }) {
  const [message, setMessage] = useState<string>();
  const task = usePolled(() => api<TaskView>('GET', `/tasks/${id}`), 1000, [id]);
  const events = usePolled(() => api<Page<TaskEventView>>('GET', `/tasks/${id}/events`), 2000, [id]);
  const act = async (method: string, path: string, body?: unknown) => {
    try {
      await api(method, path, body);
      setMessage('done');
      task.reload();
      events.reload();
    } catch (e) {
      setMessage((e as Error).message);
    }
  };
  const t = task.value;
  if (!t) return <Notice error={task.error} />;
  const percent = t.status === 'SUCCEEDED' ? 100 : (t.progress?.percent ?? 0);
  return (
    <section aria-labelledby="task-title">
      <p>
        <a href="#/tasks">← Tasks</a>
      </p>
      <h1 id="task-title">
        {t.type} <code>{t.id}</code> <Status status={t.status} />
      </h1>
      <Notice error={task.error} />
      <div class="progress">
        <label for="task-progress">Progress {`${percent}%`}</label>
        <progress id="task-progress" max={100} value={percent} aria-valuenow={percent} />
        {t.progress?.message ? <span>{t.progress.message}</span> : null}
      </div>
      <fieldset class="actions" aria-label="task actions">
        <button
          type="button"
          onClick={() => act('POST', `/tasks/${id}/pause`)}
          disabled={!['QUEUED', 'RUNNING', 'SCHEDULED'].includes(t.status)}
        >
          Pause
        </button>
        <button type="button" onClick={() => act('POST', `/tasks/${id}/resume`)} disabled={t.status !== 'PAUSED'}>
          Resume
        </button>
        <button
          type="button"
          onClick={() => act('POST', `/tasks/${id}/cancel`)}
          disabled={!['QUEUED', 'RUNNING', 'SCHEDULED', 'PAUSED'].includes(t.status)}
        >
          Cancel
        </button>
        <button
          type="button"
          onClick={() => act('POST', `/tasks/${id}/retry`)}
          disabled={!['FAILED', 'CANCELLED', 'SUCCEEDED'].includes(t.status)}
        >
          Retry
        </button>
        <Choice label="Priority" value={t.priority} options={PRIORITIES} onChange={(v) => act('PATCH', `/tasks/${id}`, { priority: v })} />
        {message ? <output>{message}</output> : null}
      </fieldset>
      <dl class="fields">
        {(
          [
            ['Tenant', t.tenant],
            ['Attempt', `${t.attempt} of ${t.maxAttempts}`],
            ['Created', when(t.createdAt)],
            ['Started', when(t.startedAt)],
            ['Finished', when(t.finishedAt)],
            ['Waiting for', t.waitingFor ? `${t.waitingFor.scope} ${t.waitingFor.key}` : '—'],
            ['Schedule', t.schedule ? t.schedule.name : '—'],
            ['Version', String(t.version)],
          ] as const
        ).map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <h2>Payload</h2>
      <Json value={t.payload} />
      {t.result !== null ? (
        <>
          <h2>Result</h2>
          <Json value={t.result} />
        </>
      ) : null}
      {t.error ? (
        <>
          <h2>Error</h2>
          <Json value={t.error} />
        </>
      ) : null}
      <h2>History</h2>
      <ol class="timeline" aria-label="history">
        {(events.value?.items ?? []).map((e, i) => (
          <li key={`${e.at}-${i}`}>
            <time dateTime={e.at}>{when(e.at)}</time> <span>{e.from ?? '∅'}</span> → <Status status={e.to} /> <em>{e.reason}</em>{' '}
            <small>
              attempt {e.attempt} · {e.actor}
            </small>
          </li>
        ))}
      </ol>
    </section>
  );
}

// ── schedules and limits ─────────────────────────────────────────────────────────────────────
function Schedules() {
  const [message, setMessage] = useState<string>();
  const list = usePolled(() => api<Page<ScheduleView>>('GET', '/schedules?limit=100'), 5000, []);
  const act = async (name: string, action: string) => {
    try {
      await api('POST', `/schedules/${encodeURIComponent(name)}/${action}`);
      setMessage(`${action}: ${name}`);
      list.reload();
    } catch (e) {
      setMessage((e as Error).message);
    }
  };
  return (
    <section aria-labelledby="schedules-title">
      <h1 id="schedules-title">Schedules</h1>
      <Notice error={list.error} />
      {message ? <output>{message}</output> : null}
      <table aria-label="schedules">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">When</th>
            <th scope="col">State</th>
            <th scope="col">Next runs</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(list.value?.items ?? []).map((s) => (
            <tr key={s.name}>
              <th scope="row">
                <a href={`#/tasks?schedule=${encodeURIComponent(s.name)}`}>{s.name}</a>
              </th>
              <td>
                {s.cron ?? `every ${s.every}`} <small>{s.timezone}</small>
              </td>
              <td>{s.state}</td>
              <td>{s.nextRuns.slice(0, 3).map(when).join(', ') || '—'}</td>
              <td class="actions">
                {s.state === 'PAUSED' ? (
                  <button type="button" onClick={() => act(s.name, 'resume')}>
                    Resume
                  </button>
                ) : (
                  <button type="button" onClick={() => act(s.name, 'pause')}>
                    Pause
                  </button>
                )}
                <button type="button" onClick={() => act(s.name, 'trigger')}>
                  Trigger
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Limits() {
  const list = usePolled(() => api<{ items: LimitView[] }>('GET', '/limits'), 3000, []);
  return (
    <section aria-labelledby="limits-title">
      <h1 id="limits-title">Limits</h1>
      <Notice error={list.error} />
      <table aria-label="limits">
        <thead>
          <tr>
            <th scope="col">Scope</th>
            <th scope="col">Key</th>
            <th scope="col">Concurrency</th>
            <th scope="col">Rate</th>
            <th scope="col">Running</th>
            <th scope="col">Starts this period</th>
            <th scope="col">Waiting</th>
          </tr>
        </thead>
        <tbody>
          {(list.value?.items ?? []).map((l) => (
            <tr key={`${l.scope}/${l.key}`}>
              <td>{l.scope}</td>
              <th scope="row">{l.key}</th>
              <td>{l.concurrency ?? '—'}</td>
              <td>{l.rate ? `${l.rate.limit} / ${l.rate.periodSeconds} s` : '—'}</td>
              <td>{l.usage.running}</td>
              <td>{l.usage.startsInPeriod}</td>
              <td>{l.usage.waiting}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

// ── shell ────────────────────────────────────────────────────────────────────────────────────
function App() {
  const { path, query } = useRoute();
  const main = useRef<HTMLElement>(null);
  const focusMain = useCallback(() => main.current?.focus(), []);
  const taskId = /^\/tasks\/([^/]+)$/.exec(path)?.[1];
  const view = taskId ? (
    <TaskPage id={taskId} />
  ) : path === '/tasks' ? (
    <TaskList query={query} />
  ) : path === '/schedules' ? (
    <Schedules />
  ) : path === '/limits' ? (
    <Limits />
  ) : (
    <Overview />
  );
  const link = (href: string, label: string, active: boolean) => (
    <a href={href} aria-current={active ? 'page' : undefined} onClick={focusMain}>
      {label}
    </a>
  );
  return (
    <>
      <header>
        <strong class="brand">Sluice</strong>
        <nav aria-label="sections">
          {link('#/', 'Overview', path === '/')}
          {link('#/tasks', 'Tasks', path.startsWith('/tasks'))}
          {link('#/schedules', 'Schedules', path === '/schedules')}
          {link('#/limits', 'Limits', path === '/limits')}
        </nav>
      </header>
      <main ref={main} tabIndex={-1}>
        {view}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
