import { useState } from "react";
import { apiPost } from "../api.js";
import ErrorAlert from "../ErrorAlert.jsx";

// The chat can search logs and ask Bedrock: the handler ends every request within 30 s.
const CHAT_TIMEOUT_MS = 45_000;

const TIME_RANGES = [
  { value: "", label: "From the question (default: last hour)" },
  { value: "last 30 minutes", label: "Last 30 minutes" },
  { value: "last hour", label: "Last hour" },
  { value: "last 6 hours", label: "Last 6 hours" },
  { value: "last 24 hours", label: "Last 24 hours" },
];

function formatMs(ms) {
  if (typeof ms !== "number" || Number.isNaN(ms)) return "n/a";
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

function Findings({ findings }) {
  if (!findings) return null;
  const logGroups = findings.log_groups || [];
  const topErrors = findings.top_errors || [];
  return (
    <section className="card" aria-label="Findings">
      <h3>Findings</h3>
      <p>
        <strong data-testid="chat-error-count">{findings.error_count ?? 0}</strong> error line
        {findings.error_count === 1 ? "" : "s"} in {logGroups.length} log group
        {logGroups.length === 1 ? "" : "s"}
      </p>
      {logGroups.length > 0 && (
        <ul className="tags" aria-label="Log groups searched">
          {logGroups.map((g) => (
            <li key={g}>{g}</li>
          ))}
        </ul>
      )}
      {topErrors.length > 0 && (
        <table aria-label="Top errors">
          <thead>
            <tr>
              <th>Error</th>
              <th className="num">Count</th>
              <th>Log group</th>
              <th>Sample</th>
            </tr>
          </thead>
          <tbody>
            {topErrors.map((e, i) => (
              <tr key={`${e.log_group}-${e.message}-${i}`}>
                <td>{e.message}</td>
                <td className="num">{e.count}</td>
                <td>{e.log_group}</td>
                <td>
                  <code>{e.sample}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function KbSources({ sources }) {
  if (!sources || sources.length === 0) return null;
  return (
    <section className="card" aria-label="Knowledge base sources">
      <h3>Knowledge base sources</h3>
      <ul className="sources">
        {sources.map((s) => (
          <li key={s.document_id}>
            {s.file_name || s.document_id}{" "}
            <span className="muted">score {typeof s.score === "number" ? s.score.toFixed(3) : s.score}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

export default function ChatPage() {
  const [question, setQuestion] = useState("");
  const [service, setService] = useState("");
  const [timeRange, setTimeRange] = useState("");
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState("");
  const [reply, setReply] = useState(null);
  const [measuredMs, setMeasuredMs] = useState(null);

  async function ask(event) {
    event.preventDefault();
    const text = question.trim();
    if (!text || loading) return;
    const fields = { question: text };
    if (service.trim()) fields.service = service.trim();
    if (timeRange) fields.time_range = timeRange;
    setLoading(true);
    setError("");
    setReply(null);
    const started = performance.now();
    try {
      const data = await apiPost("chat", fields, { timeoutMs: CHAT_TIMEOUT_MS });
      setMeasuredMs(performance.now() - started);
      setReply(data);
    } catch (err) {
      setError(err.message);
    } finally {
      setLoading(false);
    }
  }

  return (
    <div className="page">
      <h2>Ask TARS</h2>
      <form className="card form" onSubmit={ask}>
        <label htmlFor="chat-question">Question</label>
        <textarea
          id="chat-question"
          data-testid="chat-question"
          rows={3}
          placeholder="Are there any errors in the last hour?"
          value={question}
          onChange={(e) => setQuestion(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) ask(e);
          }}
        />
        <div className="row">
          <label>
            Service (optional)
            <input value={service} onChange={(e) => setService(e.target.value)} placeholder="payment-service" />
          </label>
          <label>
            Time range
            <select value={timeRange} onChange={(e) => setTimeRange(e.target.value)}>
              {TIME_RANGES.map((t) => (
                <option key={t.value} value={t.value}>
                  {t.label}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" data-testid="chat-submit" disabled={loading || !question.trim()}>
            {loading ? "Asking…" : "Ask"}
          </button>
        </div>
      </form>

      {loading && (
        <p className="muted" role="status">
          Searching the logs and the knowledge base…
        </p>
      )}
      <ErrorAlert message={error} testId="chat-error" />

      {reply && (
        <>
          <section className="card answer" aria-label="Answer">
            <div className="answer-meta">
              <span className={`badge ${reply.llm === "bedrock" ? "ok" : "warn"}`} data-testid="chat-llm">
                {reply.llm === "bedrock" ? "LLM: Bedrock" : "LLM unavailable: summary built from the findings"}
              </span>
              <span className="muted" data-testid="chat-timing">
                Answered in {formatMs(measuredMs)} (server {formatMs(reply.elapsed_ms)})
              </span>
            </div>
            <div className="answer-text" data-testid="chat-answer">
              {reply.answer}
            </div>
          </section>
          <Findings findings={reply.findings} />
          <KbSources sources={reply.kb_sources} />
        </>
      )}
    </div>
  );
}
