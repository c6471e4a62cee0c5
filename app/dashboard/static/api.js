// The API client of the dashboard. The tokens live in this module's memory only: never in localStorage,
// sessionStorage or a cookie, so nothing persists them and reloading the page means signing in again.
// An access token that has expired is renewed once with the refresh token; a second 401 ends the session.

let session = null; // {access, refresh}
let renewal = null; // the refresh in flight, shared by every request that hit a 401 meanwhile
let onSessionEnd = () => {};

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }

  // The detail, with what the 422 says about each field and the request id to quote.
  describe() {
    const fields = (this.problem.errors || []).map((e) => e.msg).filter(Boolean);
    const parts = [this.message, ...fields.slice(0, 3)];
    if (this.problem.request_id) parts.push(`(request ${this.problem.request_id})`);
    return parts.join(" ");
  }
}

export class SessionEnded extends Error {}

export function whenSessionEnds(callback) {
  onSessionEnd = callback;
}

async function problemOf(response) {
  try {
    return await response.json();
  } catch {
    return { detail: `The server answered ${response.status} ${response.statusText}.` };
  }
}

export async function signIn(email, password) {
  const response = await fetch("/auth/login", {
    method: "POST",
    headers: { Accept: "application/json" },
    body: new URLSearchParams({ username: email, password }),
  });
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  const pair = await response.json();
  session = { access: pair.access_token, refresh: pair.refresh_token };
}

export async function signOut() {
  const ending = session;
  session = null;
  if (!ending) return;
  try {
    await fetch("/auth/logout", {
      method: "POST",
      headers: { Authorization: `Bearer ${ending.access}`, "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: ending.refresh }),
    });
  } catch {
    // The tokens are forgotten either way; the session also expires on its own.
  }
}

// Two refreshes with one refresh token look like theft to the server (the whole session is revoked),
// so concurrent requests share one renewal, and a request whose token was already replaced just retries.
async function renew(staleAccess) {
  if (!session || session.access !== staleAccess) return;
  if (!renewal) {
    const refresh = session.refresh;
    renewal = (async () => {
      const response = await fetch("/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ refresh_token: refresh }),
      });
      if (!response.ok) {
        session = null;
        return;
      }
      const pair = await response.json();
      session = { access: pair.access_token, refresh: pair.refresh_token };
    })().finally(() => {
      renewal = null;
    });
  }
  await renewal;
}

function endSession() {
  session = null;
  onSessionEnd();
  return new SessionEnded("Your session has ended; sign in again.");
}

// fetch with the bearer token; returns the Response of a successful call, throws ApiError otherwise.
export async function call(path, { method = "GET", body, accept = "application/json" } = {}) {
  if (!session) throw endSession();
  const send = (access) =>
    fetch(path, {
      method,
      headers: {
        Authorization: `Bearer ${access}`,
        Accept: accept,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const access = session.access;
  let response = await send(access);
  if (response.status === 401) {
    await renew(access);
    if (!session) throw endSession();
    response = await send(session.access);
    if (response.status === 401) throw endSession();
  }
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  return response;
}

export async function getJson(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ""));
  const text = query.toString();
  return (await call(text ? `${path}?${text}` : path)).json();
}

export async function sendJson(method, path, body) {
  return (await call(path, { method, body })).json();
}
