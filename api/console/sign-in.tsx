export function SignIn(props: { next: string; error?: string }) {
  return (
    <>
      <h1>Sign in</h1>
      {props.error && (
        <p class="notice error" role="alert" id="sign-in-error">
          {props.error}
        </p>
      )}
      <form method="post" action="/console/sign-in">
        <input type="hidden" name="next" value={props.next} />
        <p>
          <label>
            API key
            <input
              type="password"
              name="key"
              required
              autocomplete="current-password"
              autofocus
              aria-describedby={props.error ? 'sign-in-error' : undefined}
            />
          </label>
        </p>
        <button type="submit">Sign in</button>
      </form>
      <p class="muted">
        One of the API's keys (<code>API_KEYS</code>; in dev mode, <code>.data/dev-api-key</code>). The console shows
        only what that key sent. The key stays on the server: the browser keeps a signed session cookie.
      </p>
    </>
  );
}
