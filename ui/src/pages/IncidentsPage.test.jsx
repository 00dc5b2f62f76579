import { describe, expect, test } from "vitest";
import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import IncidentsPage from "./IncidentsPage.jsx";
import { deferred, json, mockApi, sha256 } from "../test/api-mock.js";

const INCIDENTS = [
  {
    incident_id: "inc-1",
    service: "payment-service",
    severity: "P1",
    title: "Card payments failing",
    description: "PaymentProcessorException spike",
    status: "open",
    created_at: "2026-11-27T10:00:00Z",
  },
  {
    incident_id: "inc-2",
    service: "order-service",
    severity: "P3",
    title: "Slow checkout",
    description: "",
    status: "investigating",
    created_at: "2026-11-27T09:00:00Z",
  },
];

describe("IncidentsPage", () => {
  test("lists incidents and sends the status and severity filters as list_incidents query parameters", async () => {
    const calls = mockApi((call) => {
      const status = call.url.searchParams.get("status");
      const severity = call.url.searchParams.get("severity");
      const rows = INCIDENTS.filter((i) => (!status || i.status === status) && (!severity || i.severity === severity));
      return json({ count: rows.length, incidents: rows });
    });
    render(<IncidentsPage />);
    const table = await screen.findByTestId("incidents-table");
    expect(within(table).getAllByRole("row")).toHaveLength(3);
    expect(screen.getByTestId("incident-row-inc-1")).toHaveTextContent("P1payment-serviceCard payments failing");
    expect([...calls[0].url.searchParams]).toEqual([["action", "list_incidents"]]);

    const user = userEvent.setup();
    await user.selectOptions(screen.getByTestId("incidents-filter-status"), "open");
    await user.selectOptions(screen.getByTestId("incidents-filter-severity"), "P1");
    await waitFor(() => expect(calls.at(-1).url.searchParams.get("severity")).toBe("P1"));
    expect(calls.at(-1).method).toBe("GET");
    expect(Object.fromEntries(calls.at(-1).url.searchParams)).toEqual({
      action: "list_incidents",
      status: "open",
      severity: "P1",
    });
    await waitFor(() => expect(screen.queryByTestId("incident-row-inc-2")).not.toBeInTheDocument());
    expect(screen.getByTestId("incident-row-inc-1")).toBeInTheDocument();
  });

  test("create_incident posts service, severity, title and description, signed, then the list reloads", async () => {
    const created = [];
    const calls = mockApi((call) => {
      if (call.action === "create_incident") {
        const incident = { ...call.json, incident_id: "inc-3", status: "open", created_at: "2026-11-28T01:00:00Z" };
        delete incident.action;
        created.push(incident);
        return json(incident, 201);
      }
      return json({ count: created.length, incidents: created });
    });
    render(<IncidentsPage />);
    await screen.findByText("No incidents.");
    const user = userEvent.setup();
    expect(screen.getByTestId("incident-create")).toBeDisabled();
    await user.type(screen.getByTestId("incident-service"), "inventory-service");
    await user.selectOptions(screen.getByTestId("incident-severity"), "P2");
    await user.type(screen.getByTestId("incident-title"), "Stock sync stalled");
    await user.type(screen.getByTestId("incident-description"), "No updates since 00:40");
    await user.click(screen.getByTestId("incident-create"));

    expect(await screen.findByTestId("incident-row-inc-3")).toHaveTextContent("P2inventory-serviceStock sync stalled");
    const post = calls.find((c) => c.action === "create_incident");
    expect(post.method).toBe("POST");
    expect(post.json).toEqual({
      action: "create_incident",
      service: "inventory-service",
      severity: "P2",
      title: "Stock sync stalled",
      description: "No updates since 00:40",
    });
    expect(post.headers["x-amz-content-sha256"]).toBe(sha256(post.body));
    expect(calls.map((c) => c.action)).toEqual(["list_incidents", "create_incident", "list_incidents"]);
    expect(screen.getByTestId("incident-title")).toHaveValue("");
  });

  test("changing an incident's status sends update_incident", async () => {
    let status = "open";
    const calls = mockApi((call) => {
      if (call.action === "update_incident") {
        status = call.json.status;
        return json({ incident_id: call.json.incident_id, status });
      }
      return json({ count: 1, incidents: [{ ...INCIDENTS[0], status }] });
    });
    render(<IncidentsPage />);
    const row = await screen.findByTestId("incident-row-inc-1");
    await userEvent.setup().selectOptions(within(row).getByRole("combobox"), "mitigated");
    await waitFor(() => expect(calls.map((c) => c.action)).toEqual(["list_incidents", "update_incident", "list_incidents"]));
    expect(calls[1].json).toEqual({ action: "update_incident", incident_id: "inc-1", status: "mitigated" });
    expect(within(row).getByRole("combobox")).toHaveValue("mitigated");
  });

  test("an error reply to create_incident is a visible alert and the form keeps its input", async () => {
    mockApi((call) =>
      call.action === "create_incident"
        ? json({ error: "severity must be one of P1, P2, P3, P4" }, 400)
        : json({ count: 0, incidents: [] }),
    );
    render(<IncidentsPage />);
    const user = userEvent.setup();
    await user.type(screen.getByTestId("incident-service"), "payment-service");
    await user.type(screen.getByTestId("incident-title"), "Broken");
    await user.click(screen.getByTestId("incident-create"));

    const alert = await screen.findByTestId("incidents-error");
    expect(alert).toHaveAttribute("role", "alert");
    expect(alert).toHaveTextContent("The TARS API answered 400: severity must be one of P1, P2, P3, P4");
    expect(screen.getByTestId("incident-title")).toHaveValue("Broken");
  });

  test("a slow reply to an older filter does not overwrite the newer list", async () => {
    const slow = deferred();
    mockApi((call) => {
      if (!call.url.searchParams.get("severity")) return slow.promise; // the first, unfiltered request
      return json({ count: 1, incidents: [INCIDENTS[0]] });
    });
    render(<IncidentsPage />);
    await userEvent.setup().selectOptions(screen.getByTestId("incidents-filter-severity"), "P1");
    expect(await screen.findByTestId("incident-row-inc-1")).toBeInTheDocument();

    await act(async () => {
      slow.resolve(json({ count: 2, incidents: INCIDENTS }));
      await slow.promise;
    });
    expect(screen.queryByTestId("incident-row-inc-2")).not.toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Incidents (1)" })).toBeInTheDocument();
  });
});
