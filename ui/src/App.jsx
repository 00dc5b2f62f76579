import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import ChatPage from "./pages/ChatPage.jsx";
import KnowledgeBasePage from "./pages/KnowledgeBasePage.jsx";
import IncidentsPage from "./pages/IncidentsPage.jsx";
import SignIn from "./SignIn.jsx";
import { apiBase, setApiAuth } from "./api.js";
import { REFRESH_MARGIN_S, defaultAuth } from "./auth.js";
import { NO_SIGN_IN, SessionContext } from "./session.js";

// Hash routes, so the static site needs no server-side rewrite on S3 + CloudFront.
const PAGES = [
  { id: "chat", label: "Chat", Component: ChatPage },
  { id: "kb", label: "Knowledge base", Component: KnowledgeBasePage },
  { id: "incidents", label: "Incidents", Component: IncidentsPage },
];

function pageFromHash(hash) {
  const id = (hash || "").replace(/^#\/?/, "");
  return PAGES.find((p) => p.id === id) ? id : "chat";
}

function Pages({ session }) {
  const [page, setPage] = useState(() => pageFromHash(window.location.hash));

  useEffect(() => {
    const onHashChange = () => setPage(pageFromHash(window.location.hash));
    window.addEventListener("hashchange", onHashChange);
    return () => window.removeEventListener("hashchange", onHashChange);
  }, []);

  const { Component } = PAGES.find((p) => p.id === page);
  return (
    <div className="app">
      <header className="topbar">
        <h1>TARS</h1>
        <nav aria-label="Main">
          {PAGES.map((p) => (
            <a
              key={p.id}
              href={`#/${p.id}`}
              data-testid={`nav-${p.id}`}
              aria-current={p.id === page ? "page" : undefined}
              onClick={() => setPage(p.id)}
            >
              {p.label}
            </a>
          ))}
        </nav>
        <span className="api-base" title="API endpoint">
          API: {apiBase()}
        </span>
        {session.enabled && (
          <span className="who">
            <span data-testid="signed-in-user">{session.user.username}</span>{" "}
            <span className="badge muted" data-testid="signed-in-role">
              {session.user.role || "no role"}
            </span>{" "}
            <button type="button" className="link" data-testid="sign-out" onClick={session.signOut}>
              Sign out
            </button>
          </span>
        )}
      </header>
      <main>
        {session.enabled && !session.canWrite && (
          <p className="notice" data-testid="viewer-notice">
            {session.user.role === "viewer"
              ? "You are a viewer: you can chat and read; ask an operator for the editor role to change things."
              : "Your account has no TARS role yet: ask an operator to add you to tars-viewers or tars-editors."}
          </p>
        )}
        <Component />
      </main>
    </div>
  );
}

/** The app: the pages, behind the sign-in screen when the build names a user pool. */
// One sign-in client and one clock per page: a default made in the parameter list would be a new
// object on every render, re-running the session check after each one (a render loop).
const PAGE_AUTH = defaultAuth();
const NOW = () => Date.now() / 1000;

export default function App({ auth = PAGE_AUTH, clock = NOW }) {
  const [state, setState] = useState(auth ? { status: "checking" } : { status: "open" });
  const timer = useRef(null);

  const signOut = useCallback(
    (notice = "") => {
      clearTimeout(timer.current);
      setApiAuth(null, null);
      auth?.signOut();
      setState({ status: "signed-out", notice });
    },
    [auth],
  );

  const signedIn = useCallback(
    (user) => {
      setApiAuth(
        () => auth.accessToken(),
        (err) => signOut(err.message),
      );
      setState({ status: "signed-in", user });
    },
    [auth, signOut],
  );

  useEffect(() => {
    if (!auth) return undefined;
    let live = true;
    auth.current().then((user) => {
      if (!live) return;
      if (user) signedIn(user);
      else setState({ status: "signed-out", notice: "" });
    });
    return () => {
      live = false;
    };
  }, [auth, signedIn]);

  // Refresh the session before the access token expires (not only when a request needs it).
  useEffect(() => {
    if (state.status !== "signed-in") return undefined;
    const wait = Math.max(0, state.user.expiresAt - REFRESH_MARGIN_S - clock()) * 1000;
    timer.current = setTimeout(() => {
      auth.refresh().then(
        (user) => setState({ status: "signed-in", user }),
        () => signOut("Your session has ended: sign in again."),
      );
    }, wait);
    return () => clearTimeout(timer.current);
  }, [auth, clock, signOut, state]);

  const session = useMemo(() => {
    if (state.status !== "signed-in") return NO_SIGN_IN;
    return { enabled: true, user: state.user, canWrite: state.user.role === "editor", signOut: () => signOut("You signed out.") };
  }, [state, signOut]);

  if (state.status === "checking") return <p className="muted">Loading…</p>;
  if (state.status === "signed-out") return <SignIn auth={auth} notice={state.notice} onSignedIn={signedIn} />;
  return (
    <SessionContext.Provider value={session}>
      <Pages session={session} />
    </SessionContext.Provider>
  );
}
