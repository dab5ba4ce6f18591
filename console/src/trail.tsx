import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, downloadZip, type Entry, type Filters, fetchPage, type Progress } from './api.js';
import { browserTimeZone, knownTimeZones, startOfDay } from './time.js';

const PAGE_SIZE = 50;

interface FormState {
  action: string;
  user: string;
  from: string;
  to: string;
  tz: string;
}

/** The form's dates (calendar days in the chosen zone) as the API's UTC instants. */
const filtersOf = (form: FormState): Filters | string => {
  const zone = form.tz.trim() || 'UTC';
  const from = form.from ? startOfDay(form.from, zone) : undefined;
  const toExclusive = form.to ? startOfDay(form.to, zone, true) : undefined;
  if (form.from && from === undefined) return 'The start date is not a date.';
  if (form.to && toExclusive === undefined) return 'The end date is not a date.';
  if (from !== undefined && toExclusive !== undefined && toExclusive <= from)
    return 'The end date is before the start date.';
  return {
    ...(form.action.trim() ? { action: form.action.trim() } : {}),
    ...(form.user.trim() ? { user: form.user.trim() } : {}),
    ...(from !== undefined ? { from: new Date(from).toISOString() } : {}),
    ...(toExclusive !== undefined ? { to: new Date(toExclusive - 1).toISOString() } : {}),
    tz: zone,
  };
};

const formatBytes = (bytes: number): string =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < 1048576
      ? `${(bytes / 1024).toFixed(1)} KB`
      : `${(bytes / 1048576).toFixed(1)} MB`;

const Detail = ({ entry, onClose }: { entry: Entry; onClose: () => void }) => {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
  }, []);
  return (
    <dialog ref={dialog} class="detail" aria-labelledby="detail-title" onClose={onClose}>
      <header>
        <h2 id="detail-title">Entry {entry.id}</h2>
        <button type="button" class="close" onClick={() => dialog.current?.close()}>
          Close
        </button>
      </header>
      <dl>
        {Object.entries(entry).map(([field, value]) => (
          <div key={field}>
            <dt>{field}</dt>
            <dd>
              {value === null ? (
                <em>null</em>
              ) : typeof value === 'object' ? (
                JSON.stringify(value)
              ) : (
                String(value)
              )}
            </dd>
          </div>
        ))}
      </dl>
      <h3>JSON</h3>
      <pre>{JSON.stringify(entry, null, 2)}</pre>
    </dialog>
  );
};

const DownloadButton = ({
  token,
  onAuthError,
}: {
  token: string;
  onAuthError: (message: string) => void;
}) => {
  const [progress, setProgress] = useState<Progress | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const start = async () => {
    setProblem(null);
    setStatus(null);
    try {
      const blob = await downloadZip(token, setProgress, {
        onWait: (seconds) => setStatus(seconds > 0 ? `The service is busy; retrying in ${seconds} s…` : null),
      });
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = 'canary_audit_trail.json.zip';
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      setStatus(`Downloaded canary_audit_trail.json.zip (${formatBytes(blob.size)}).`);
    } catch (error) {
      if (error instanceof ApiError && error.kind === 'auth') onAuthError(error.message);
      else setProblem(error instanceof Error ? error.message : 'The download failed.');
    } finally {
      setProgress(null);
    }
  };
  return (
    <div class="download">
      <button type="button" onClick={start} disabled={progress !== null}>
        Download zip
      </button>
      {progress && (
        <span class="progress">
          <progress
            aria-label="Download progress"
            max={progress.total ?? 1}
            {...(progress.total !== undefined ? { value: progress.received } : {})}
          />
          <span role="status" data-testid="download-progress">
            {progress.phase === 'preparing'
              ? 'Preparing the export…'
              : `${formatBytes(progress.received)}${progress.total ? ` of ${formatBytes(progress.total)}` : ''}`}
          </span>
        </span>
      )}
      {status && !progress && (
        <span role="status" data-testid="download-status">
          {status}
        </span>
      )}
      {problem && (
        <span class="problem" role="alert">
          {problem}
        </span>
      )}
    </div>
  );
};

/** The signed-in page: filters, the infinite table of entries, an entry's detail, the download. */
export const Trail = ({
  token,
  embed,
  onSignOut,
}: {
  token: string;
  embed: boolean;
  onSignOut: (message: string | null) => void;
}) => {
  const [form, setForm] = useState<FormState>({
    action: '',
    user: '',
    from: '',
    to: '',
    tz: browserTimeZone(),
  });
  const [filters, setFilters] = useState<Filters>(() => filtersOf(form) as Filters);
  const [entries, setEntries] = useState<Entry[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [pageCount, setPageCount] = useState(0);
  const [loading, setLoading] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [waiting, setWaiting] = useState<string | null>(null);
  const [open, setOpen] = useState<Entry | null>(null);
  const [zones] = useState(knownTimeZones);
  const opener = useRef<HTMLElement | null>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const request = useRef<AbortController | null>(null);

  const load = useCallback(
    async (cursor: string | null) => {
      request.current?.abort();
      const controller = new AbortController();
      request.current = controller;
      setLoading(true);
      setProblem(null);
      try {
        const page = await fetchPage(
          token,
          { filters, ...(cursor ? { cursor } : {}), limit: PAGE_SIZE },
          {
            signal: controller.signal,
            onWait: (seconds) =>
              setWaiting(seconds > 0 ? `The service is busy (429); retrying in ${seconds} s…` : null),
          },
        );
        setEntries((shown) => (cursor ? [...shown, ...page.audit_trail] : page.audit_trail));
        setNext(page.cursor.next);
        if (!cursor) setPageCount(page.page_count);
      } catch (error) {
        if (controller.signal.aborted) return;
        if (error instanceof ApiError && error.kind === 'auth') onSignOut(error.message);
        else setProblem(error instanceof Error ? error.message : 'Something went wrong.');
      } finally {
        if (request.current === controller) {
          setLoading(false);
          setWaiting(null);
        }
      }
    },
    [token, filters, onSignOut],
  );

  useEffect(() => {
    setEntries([]);
    setNext(null);
    void load(null);
    return () => request.current?.abort();
  }, [load]);

  // Infinite scroll: the next page loads when the end of the table comes into view.
  useEffect(() => {
    const element = sentinel.current;
    if (!element || !next || loading || problem) return;
    const observer = new IntersectionObserver((seen) => {
      if (seen.some((item) => item.isIntersecting)) void load(next);
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [next, loading, problem, load]);

  const apply = (event: Event) => {
    event.preventDefault();
    const parsed = filtersOf(form);
    if (typeof parsed === 'string') {
      setProblem(parsed);
      return;
    }
    setFilters(parsed);
  };
  const field = (name: keyof FormState) => ({
    id: `filter-${name}`,
    name,
    value: form[name],
    onInput: (event: Event) => {
      const value = (event.currentTarget as HTMLInputElement).value;
      setForm((current) => ({ ...current, [name]: value }));
    },
  });
  const showDetail = (entry: Entry, from: HTMLElement) => {
    opener.current = from;
    setOpen(entry);
  };
  const closeDetail = () => {
    setOpen(null);
    opener.current?.focus();
  };
  const zoned = Boolean(filters.tz);

  return (
    <div class="trail">
      <header class="bar">
        <h1>Audit trail</h1>
        <div class="actions">
          {!embed && <DownloadButton token={token} onAuthError={(message) => onSignOut(message)} />}
          <button type="button" class="secondary" onClick={() => onSignOut(null)}>
            Sign out
          </button>
        </div>
      </header>
      <form class="filters" onSubmit={apply} aria-label="Filters">
        {!embed && (
          <>
            <div>
              <label for="filter-action">Action</label>
              <input {...field('action')} placeholder="user_login" autocomplete="off" />
            </div>
            <div>
              <label for="filter-user">User</label>
              <input {...field('user')} placeholder="someone@example.com" autocomplete="off" />
            </div>
          </>
        )}
        <div>
          <label for="filter-from">From</label>
          <input {...field('from')} type="date" />
        </div>
        <div>
          <label for="filter-to">To</label>
          <input {...field('to')} type="date" />
        </div>
        <div>
          <label for="filter-tz">Time zone</label>
          <input {...field('tz')} list="zones" autocomplete="off" />
          <datalist id="zones">
            {zones.map((zone) => (
              <option key={zone} value={zone} />
            ))}
          </datalist>
        </div>
        <button type="submit">Apply</button>
      </form>
      {!embed && (
        <p class="help">Action and user filters cannot be combined (each is served by its own index).</p>
      )}
      {problem && (
        <div class="problem" role="alert">
          {problem}{' '}
          <button type="button" class="secondary" onClick={() => load(entries.length > 0 ? next : null)}>
            Retry
          </button>
        </div>
      )}
      {waiting && (
        <p class="notice" role="status">
          {waiting}
        </p>
      )}
      <p class="summary" role="status" aria-live="polite">
        {loading && entries.length === 0
          ? 'Loading…'
          : `${entries.length} entries shown${next ? ` (about ${pageCount * PAGE_SIZE} in all)` : ''}`}
      </p>
      <table>
        <caption class="visually-hidden">Audit trail entries, newest first</caption>
        <thead>
          <tr>
            <th scope="col">ID</th>
            <th scope="col">Time{zoned ? ` (${filters.tz})` : ' (UTC)'}</th>
            <th scope="col">Action</th>
            <th scope="col">User</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <tr
              key={entry.id}
              onClick={(event) =>
                showDetail(entry, event.currentTarget.querySelector('button') ?? event.currentTarget)
              }
            >
              <td>
                <button
                  type="button"
                  class="link"
                  aria-label={`Entry ${entry.id}: details`}
                  onClick={(event) => {
                    event.stopPropagation();
                    showDetail(entry, event.currentTarget);
                  }}
                >
                  {entry.id}
                </button>
              </td>
              <td>{zoned && entry.timestamp_std ? entry.timestamp_std : entry.timestamp}</td>
              <td>{entry.action_type}</td>
              <td>{entry.user ?? ''}</td>
              <td>{entry.message ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div ref={sentinel} class="sentinel" />
      {next && !problem && (
        <button type="button" class="secondary more" disabled={loading} onClick={() => load(next)}>
          {loading ? 'Loading…' : 'Load more'}
        </button>
      )}
      {!next && !loading && entries.length > 0 && <p class="help">End of the trail.</p>}
      {!loading && !problem && entries.length === 0 && <p class="help">No entries match these filters.</p>}
      {open && <Detail entry={open} onClose={closeDetail} />}
    </div>
  );
};
