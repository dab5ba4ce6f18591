import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { EMBED, EMBED_ORIGINS } from './api.js';
import { Trail } from './trail.js';

/** The token lives in this tab's sessionStorage only: never localStorage, never a cookie. */
const TOKEN_KEY = 'audit-trail-console-token';

const storedToken = (): string | null => {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
};

const storeToken = (token: string | null): void => {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage disabled: the token lives in memory for this page only.
  }
};

const TOKEN_SHAPE = /^[A-Za-z0-9._~-]{20,128}$/;

/** Tells the framing product something (never the token), at each allowed origin. */
const tellParent = (message: { type: string; reason?: string }): void => {
  if (window.parent === window) return;
  for (const origin of EMBED_ORIGINS) window.parent.postMessage(message, origin);
};

/**
 * Embed mode: the framing product hands over the token by `postMessage` from an allowed origin
 * (`{ type: 'audit-trail:token', token }`), or in the URL fragment (`#token=…`, never sent to a
 * server); the fragment is removed from the address at once.
 */
const useEmbeddedToken = (accept: (token: string) => void): void => {
  useEffect(() => {
    if (!EMBED) return;
    const fragment = new URLSearchParams(window.location.hash.slice(1)).get('token');
    if (fragment !== null) {
      history.replaceState(null, '', window.location.pathname + window.location.search);
      if (TOKEN_SHAPE.test(fragment)) accept(fragment);
    }
    const onMessage = (event: MessageEvent) => {
      if (event.source !== window.parent || !EMBED_ORIGINS.includes(event.origin)) return;
      const data = event.data as { type?: unknown; token?: unknown } | null;
      if (
        data?.type === 'audit-trail:token' &&
        typeof data.token === 'string' &&
        TOKEN_SHAPE.test(data.token)
      )
        accept(data.token);
    };
    window.addEventListener('message', onMessage);
    tellParent({ type: 'audit-trail:ready' });
    return () => window.removeEventListener('message', onMessage);
  }, [accept]);
};

const SignIn = ({ notice, onSignIn }: { notice: string | null; onSignIn: (token: string) => void }) => {
  const [value, setValue] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const submit = (event: Event) => {
    event.preventDefault();
    const token = value.trim();
    if (!TOKEN_SHAPE.test(token)) {
      setProblem('A token is 20–128 letters, digits, “.”, “_”, “~” or “-” (for example ats_…).');
      input.current?.focus();
      return;
    }
    onSignIn(token);
  };
  return (
    <main class="sign-in">
      <h1>Audit trail</h1>
      {notice && (
        <p class="notice" role="alert">
          {notice}
        </p>
      )}
      <form onSubmit={submit} novalidate>
        <label for="token">API token</label>
        <input
          id="token"
          ref={input}
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={value}
          aria-describedby="token-help"
          aria-invalid={problem !== null}
          onInput={(event) => setValue(event.currentTarget.value)}
        />
        <p id="token-help" class="help">
          A token with the read scope (<code>npm run tokens -- create</code>). It is kept in this tab only and
          forgotten when you sign out or close the tab.
        </p>
        {problem && (
          <p class="problem" role="alert">
            {problem}
          </p>
        )}
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
};

const App = () => {
  const [token, setToken] = useState<string | null>(storedToken);
  const [notice, setNotice] = useState<string | null>(null);
  const signIn = useCallback((next: string) => {
    storeToken(next);
    setNotice(null);
    setToken(next);
  }, []);
  const signOut = useCallback((message: string | null) => {
    storeToken(null);
    setToken(null);
    setNotice(message);
    if (message) tellParent({ type: 'audit-trail:token-rejected' });
  }, []);
  useEmbeddedToken(signIn);
  if (token === null) {
    if (EMBED)
      return (
        <main class="sign-in">
          <h1>Audit trail</h1>
          <p role="status">{notice ?? 'Waiting for the application to sign you in…'}</p>
        </main>
      );
    return <SignIn notice={notice} onSignIn={signIn} />;
  }
  return <Trail token={token} embed={EMBED} onSignOut={signOut} />;
};

const root = document.getElementById('app');
if (root) render(<App />, root);
