import { useEffect, useState } from "react";
import ChatPage from "./pages/ChatPage.jsx";
import KnowledgeBasePage from "./pages/KnowledgeBasePage.jsx";
import IncidentsPage from "./pages/IncidentsPage.jsx";
import { apiBase } from "./api.js";

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

export default function App() {
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
      </header>
      <main>
        <Component />
      </main>
    </div>
  );
}
