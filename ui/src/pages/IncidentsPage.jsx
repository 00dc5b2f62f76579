import { useCallback, useEffect, useRef, useState } from "react";
import { apiGet, apiPost } from "../api.js";
import ErrorAlert from "../ErrorAlert.jsx";
import { useSession } from "../session.js";

export const SEVERITIES = ["P1", "P2", "P3", "P4"];
export const STATUSES = ["open", "investigating", "mitigated", "resolved"];

const EMPTY_FORM = { service: "", severity: "P3", title: "", description: "" };

function CreateIncidentForm({ onCreated, onError }) {
  const [form, setForm] = useState(EMPTY_FORM);
  const [busy, setBusy] = useState(false);
  const set = (key) => (e) => setForm({ ...form, [key]: e.target.value });
  const ready = form.service.trim() && form.title.trim() && !busy;

  async function submit(event) {
    event.preventDefault();
    if (!ready) return;
    setBusy(true);
    onError("");
    try {
      await apiPost("create_incident", {
        service: form.service.trim(),
        severity: form.severity,
        title: form.title.trim(),
        description: form.description.trim(),
      });
      setForm(EMPTY_FORM);
      onCreated();
    } catch (err) {
      onError(err.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card form" onSubmit={submit} aria-label="Create an incident">
      <h3>Open an incident</h3>
      <div className="row">
        <label>
          Service
          <input data-testid="incident-service" value={form.service} onChange={set("service")} placeholder="payment-service" />
        </label>
        <label>
          Severity
          <select data-testid="incident-severity" value={form.severity} onChange={set("severity")}>
            {SEVERITIES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label className="grow">
          Title
          <input data-testid="incident-title" value={form.title} onChange={set("title")} />
        </label>
      </div>
      <label>
        Description
        <textarea data-testid="incident-description" rows={2} value={form.description} onChange={set("description")} />
      </label>
      <div className="row">
        <button type="submit" data-testid="incident-create" disabled={!ready}>
          {busy ? "Creating…" : "Create incident"}
        </button>
      </div>
    </form>
  );
}

export default function IncidentsPage() {
  const { canWrite } = useSession();
  const [incidents, setIncidents] = useState([]);
  const [page, setPage] = useState({ total: 0, nextToken: null });
  const [status, setStatus] = useState("");
  const [severity, setSeverity] = useState("");
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState("");

  // Only the latest list request may update the page (filters can change while one is in flight).
  const latest = useRef(0);
  // A page at a time (list_incidents' limit/next_token); "More" appends the next page.
  const load = useCallback(async (nextToken = null) => {
    const mine = ++latest.current;
    setLoading(true);
    try {
      const data = await apiGet("list_incidents", { status, severity, next_token: nextToken });
      if (mine !== latest.current) return;
      setIncidents((shown) => (nextToken ? [...shown, ...(data.incidents || [])] : data.incidents || []));
      setPage({ total: data.total ?? (data.incidents || []).length, nextToken: data.next_token || null });
    } catch (err) {
      if (mine === latest.current) setError(err.message);
    } finally {
      if (mine === latest.current) setLoading(false);
    }
  }, [status, severity]);

  useEffect(() => {
    load();
  }, [load]);
  const reload = useCallback(() => load(), [load]);

  async function updateStatus(incident, next) {
    setError("");
    try {
      await apiPost("update_incident", { incident_id: incident.incident_id, status: next });
      await reload();
    } catch (err) {
      setError(err.message);
    }
  }

  return (
    <div className="page">
      <h2>Incidents</h2>
      {canWrite && <CreateIncidentForm onCreated={reload} onError={setError} />}
      <ErrorAlert message={error} testId="incidents-error" onDismiss={() => setError("")} />
      <section className="card">
        <div className="row">
          <h3 className="grow" data-testid="incidents-count">
            Incidents ({incidents.length < page.total ? `${incidents.length} of ${page.total}` : incidents.length})
          </h3>
          <label>
            Status
            <select data-testid="incidents-filter-status" value={status} onChange={(e) => setStatus(e.target.value)}>
              <option value="">any</option>
              {STATUSES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label>
            Severity
            <select data-testid="incidents-filter-severity" value={severity} onChange={(e) => setSeverity(e.target.value)}>
              <option value="">any</option>
              {SEVERITIES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <button
            type="button"
            data-testid="incidents-refresh"
            onClick={() => {
              setError("");
              reload();
            }}
          >
            Refresh
          </button>
        </div>
        {loading && <p className="muted">Loading…</p>}
        {!loading && incidents.length === 0 && <p className="muted">No incidents.</p>}
        {incidents.length > 0 && (
          <table aria-label="Incidents" data-testid="incidents-table">
            <thead>
              <tr>
                <th>Severity</th>
                <th>Service</th>
                <th>Title</th>
                <th>Status</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {incidents.map((i) => (
                <tr key={i.incident_id} data-testid={`incident-row-${i.incident_id}`}>
                  <td>
                    <span className={`badge sev-${(i.severity || "").toLowerCase()}`}>{i.severity}</span>
                  </td>
                  <td>{i.service}</td>
                  <td title={i.description}>{i.title}</td>
                  <td>
                    {canWrite ? (
                      <select
                        aria-label={`Status of ${i.title}`}
                        value={i.status}
                        onChange={(e) => updateStatus(i, e.target.value)}
                      >
                        {STATUSES.map((s) => (
                          <option key={s}>{s}</option>
                        ))}
                      </select>
                    ) : (
                      <span data-testid={`incident-status-${i.incident_id}`}>{i.status}</span>
                    )}
                  </td>
                  <td>{i.created_at}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {page.nextToken && (
          <button type="button" data-testid="incidents-more" disabled={loading} onClick={() => load(page.nextToken)}>
            More incidents
          </button>
        )}
      </section>
    </div>
  );
}
