import { describe, expect, test, vi } from "vitest";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import ChatPage from "./ChatPage.jsx";
import { deferred, json, mockApi, sha256 } from "../test/api-mock.js";

const REPLY = {
  answer: "payment-service logged 42 errors in the last hour, mostly PaymentProcessorException.",
  findings: {
    error_count: 57,
    log_groups: ["/aws/lambda/payment-service", "/ecs/order-service"],
    top_errors: [
      {
        message: "PaymentProcessorException",
        count: 42,
        log_group: "/aws/lambda/payment-service",
        sample: "ERROR PaymentProcessorException: card declined by upstream",
      },
      { message: "CONNECTION_TIMEOUT", count: 15, log_group: "/ecs/order-service", sample: "ERROR CONNECTION_TIMEOUT db:5432" },
    ],
  },
  kb_sources: [{ document_id: "doc-1", file_name: "payment-runbook.md", score: 0.87654 }],
  llm: "bedrock",
  elapsed_ms: 1234,
};

async function ask(question) {
  const user = userEvent.setup();
  await user.type(screen.getByTestId("chat-question"), question);
  await user.click(screen.getByTestId("chat-submit"));
  return user;
}

describe("ChatPage", () => {
  test("posts the question as a signed chat action and renders answer, findings, sources, timing", async () => {
    const calls = mockApi(() => json(REPLY));
    render(<ChatPage />);
    expect(screen.queryByTestId("chat-answer")).not.toBeInTheDocument();

    await ask("Are there any errors in the last hour?");

    const answer = await screen.findByTestId("chat-answer");
    expect(answer).toHaveTextContent(REPLY.answer);

    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call.method).toBe("POST");
    expect(call.url.origin + call.url.pathname).toBe("http://localhost:3000/api");
    expect(call.url.search).toBe("");
    expect(call.json).toEqual({ action: "chat", question: "Are there any errors in the last hour?" });
    expect(call.headers["content-type"]).toBe("application/json");
    expect(call.headers["x-amz-content-sha256"]).toBe(sha256(call.body));

    expect(screen.getByTestId("chat-error-count")).toHaveTextContent("57");
    expect(screen.getByRole("list", { name: "Log groups searched" })).toHaveTextContent("/ecs/order-service");
    const rows = within(screen.getByRole("table", { name: "Top errors" })).getAllByRole("row");
    expect(rows).toHaveLength(3); // header + 2 errors
    expect(rows[1]).toHaveTextContent("PaymentProcessorException42/aws/lambda/payment-service");
    expect(rows[2]).toHaveTextContent("CONNECTION_TIMEOUT15");
    const sources = screen.getByRole("region", { name: "Knowledge base sources" });
    expect(sources).toHaveTextContent("payment-runbook.md score 0.877");
    expect(screen.getByTestId("chat-llm")).toHaveTextContent("LLM: Bedrock");
    expect(screen.getByTestId("chat-timing")).toHaveTextContent(/Answered in \d+ ms \(server 1\.23 s\)/);
    expect(screen.queryByTestId("chat-error")).not.toBeInTheDocument();
  });

  test("sends service and time range when chosen; shows that the LLM was unavailable", async () => {
    const calls = mockApi(() => json({ ...REPLY, llm: "unavailable", kb_sources: [], elapsed_ms: 80 }));
    render(<ChatPage />);
    const user = userEvent.setup();
    await user.type(screen.getByPlaceholderText("payment-service"), "payment-service");
    await user.selectOptions(screen.getByRole("combobox"), "last 6 hours");
    await ask("what broke?");

    await screen.findByTestId("chat-answer");
    expect(calls[0].json).toEqual({
      action: "chat",
      question: "what broke?",
      service: "payment-service",
      time_range: "last 6 hours",
    });
    expect(screen.getByTestId("chat-llm")).toHaveTextContent("LLM unavailable");
    expect(screen.queryByRole("region", { name: "Knowledge base sources" })).not.toBeInTheDocument();
  });

  test("no answer container and a disabled button while the question is pending", async () => {
    const hold = deferred();
    mockApi(() => hold.promise);
    render(<ChatPage />);
    expect(screen.getByTestId("chat-submit")).toBeDisabled(); // empty question
    await ask("errors?");

    expect(screen.getByTestId("chat-submit")).toBeDisabled();
    expect(screen.getByRole("status")).toHaveTextContent("Searching the logs");
    expect(screen.queryByTestId("chat-answer")).not.toBeInTheDocument();

    hold.resolve(json(REPLY));
    expect(await screen.findByTestId("chat-answer")).toBeInTheDocument();
    expect(screen.getByTestId("chat-submit")).toBeEnabled();
  });

  test("an error reply from the API is shown as an alert with its message", async () => {
    mockApi(() => json({ error: "question must not be empty" }, 400));
    render(<ChatPage />);
    await ask("x");

    const alert = await screen.findByTestId("chat-error");
    expect(alert).toHaveAttribute("role", "alert");
    expect(alert).toHaveTextContent("The TARS API answered 400: question must not be empty");
    expect(screen.queryByTestId("chat-answer")).not.toBeInTheDocument();
  });

  test("a refusal from the Function URL or CloudFront itself ({\"Message\"}) shows that message", async () => {
    mockApi(() => json({ Message: "Forbidden" }, 403));
    render(<ChatPage />);
    await ask("x");
    expect(await screen.findByTestId("chat-error")).toHaveTextContent("The TARS API answered 403: Forbidden");
  });

  test("an unreachable API is shown as an alert naming the endpoint", async () => {
    mockApi(() => {
      throw new TypeError("Failed to fetch");
    });
    render(<ChatPage />);
    await ask("anything wrong?");

    expect(await screen.findByTestId("chat-error")).toHaveTextContent(
      "Cannot reach the TARS API at http://localhost:3000/api: Failed to fetch",
    );
  });

  test("a reply that is not JSON (a CDN error page) is an error, not an empty answer", async () => {
    mockApi(() => new Response("<html>502 Bad Gateway</html>", { status: 502 }));
    render(<ChatPage />);
    await ask("anything wrong?");
    expect(await screen.findByTestId("chat-error")).toHaveTextContent("answered 502: no error message in the reply");

    mockApi(() => new Response("<html>ok</html>", { status: 200 }));
    await userEvent.setup().click(screen.getByTestId("chat-submit"));
    expect(await screen.findByTestId("chat-error")).toHaveTextContent("answered 200 with a reply that is not JSON");
    expect(screen.queryByTestId("chat-answer")).not.toBeInTheDocument();
  });

  test("VITE_API_ENDPOINT points the client at another endpoint", async () => {
    vi.stubEnv("VITE_API_ENDPOINT", "https://abc123.lambda-url.us-east-1.on.aws/");
    const calls = mockApi(() => json(REPLY));
    render(<ChatPage />);
    await ask("errors?");
    await screen.findByTestId("chat-answer");
    expect(calls[0].url.toString()).toBe("https://abc123.lambda-url.us-east-1.on.aws/");
  });
});
