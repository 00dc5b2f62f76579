import { describe, expect, test } from "vitest";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import App from "./App.jsx";
import { sha256Hex } from "./api.js";
import { json, mockApi } from "./test/api-mock.js";

describe("App", () => {
  test("the navigation switches between chat, knowledge base and incidents", async () => {
    const calls = mockApi((call) =>
      json(call.action === "kb_list" ? { count: 0, documents: [] } : { count: 0, incidents: [] }),
    );
    render(<App />);
    expect(screen.getByTestId("chat-question")).toBeInTheDocument();
    expect(screen.getByTestId("nav-chat")).toHaveAttribute("aria-current", "page");
    expect(calls).toHaveLength(0); // the chat page asks nothing until a question is asked

    const user = userEvent.setup();
    await user.click(screen.getByTestId("nav-kb"));
    expect(await screen.findByRole("heading", { name: "Knowledge base" })).toBeInTheDocument();
    expect(screen.getByTestId("nav-kb")).toHaveAttribute("aria-current", "page");
    expect(window.location.hash).toBe("#/kb");

    await user.click(screen.getByTestId("nav-incidents"));
    expect(await screen.findByRole("heading", { name: "Incidents" })).toBeInTheDocument();
    await user.click(screen.getByTestId("nav-chat"));
    expect(screen.getByTestId("chat-question")).toBeInTheDocument();
    expect(calls.map((c) => c.action)).toEqual(["kb_list", "list_incidents"]);
  });

  test("a deep link opens its page", () => {
    mockApi(() => json({ count: 0, incidents: [] }));
    window.location.hash = "#/incidents";
    render(<App />);
    expect(screen.getByRole("heading", { name: "Incidents" })).toBeInTheDocument();
  });

  test("sha256Hex matches the SHA-256 test vectors", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    // Multi-byte UTF-8: the hash is over the UTF-8 bytes the body is sent as (value from Python's hashlib).
    expect(await sha256Hex('{"q":"é"}')).toBe("4b8e3fd40acdad6181314bfef3c1364b9fbbc556a94ee233add8fb224f27d660");
  });
});
