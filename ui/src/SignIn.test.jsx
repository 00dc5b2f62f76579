import { afterEach, describe, expect, test, vi } from "vitest";
import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import App from "./App.jsx";
import { CognitoAuth, REFRESH_MARGIN_S, authConfig, sessionInfo } from "./auth.js";
import { setApiAuth } from "./api.js";
import { json, mockApi } from "./test/api-mock.js";

const NOW = 1_800_000_000;

/** A Cognito session as amazon-cognito-identity-js hands it over. */
function fakeSession({ username = "alice@example.com", groups = ["tars-editors"], token = "access-1", exp = NOW + 1800 } = {}) {
  return {
    isValid: () => exp > NOW,
    getAccessToken: () => ({
      decodePayload: () => ({ username, sub: "sub-1", "cognito:groups": groups, token_use: "access" }),
      getJwtToken: () => token,
      getExpiration: () => exp,
    }),
    getRefreshToken: () => ({ token: "refresh-1" }),
  };
}

/** What App needs from auth.js's CognitoAuth, scripted by the test. */
function fakeAuth({ current = null, signIn } = {}) {
  return {
    current: vi.fn(async () => current),
    signIn: vi.fn(signIn || (async () => ({ session: sessionInfo(fakeSession()) }))),
    completeNewPassword: vi.fn(async () => ({ session: sessionInfo(fakeSession()) })),
    sendTotp: vi.fn(),
    verifyTotpSetup: vi.fn(),
    accessToken: vi.fn(async () => "access-1"),
    refresh: vi.fn(async () => sessionInfo(fakeSession({ token: "access-2", exp: NOW + 3600 }))),
    signOut: vi.fn(),
  };
}

const editor = sessionInfo(fakeSession());
const viewer = sessionInfo(fakeSession({ username: "victor@example.com", groups: ["tars-viewers"] }));

function listApi(extra = () => null) {
  return mockApi((call) => {
    const answer = extra(call);
    if (answer) return answer;
    if (call.action === "kb_list") return json({ count: 0, total: 0, documents: [], next_token: null });
    return json({ count: 0, total: 0, incidents: [], next_token: null });
  });
}

afterEach(() => {
  setApiAuth(null, null);
});

describe("sign-in", () => {
  test("without a user pool in the build the app opens as before", () => {
    expect(authConfig({})).toBeNull();
    expect(authConfig({ VITE_COGNITO_USER_POOL_ID: "us-east-1_abc", VITE_COGNITO_CLIENT_ID: "" })).toBeNull();
    expect(authConfig({ VITE_COGNITO_USER_POOL_ID: "eu-west-1_abc", VITE_COGNITO_CLIENT_ID: "c1" })).toEqual({
      userPoolId: "eu-west-1_abc",
      clientId: "c1",
      region: "eu-west-1",
      endpoint: undefined,
      authFlow: "USER_SRP_AUTH",
    });
    // the local build's emulator cannot complete SRP: it asks for USER_PASSWORD_AUTH; nothing else is taken
    const local = { VITE_COGNITO_USER_POOL_ID: "us-east-1_abc", VITE_COGNITO_CLIENT_ID: "c1" };
    expect(authConfig({ ...local, VITE_COGNITO_AUTH_FLOW: "USER_PASSWORD_AUTH" }).authFlow).toBe("USER_PASSWORD_AUTH");
    expect(authConfig({ ...local, VITE_COGNITO_AUTH_FLOW: "CUSTOM_AUTH" }).authFlow).toBe("USER_SRP_AUTH");
    listApi();
    render(<App auth={null} />);
    expect(screen.getByTestId("chat-question")).toBeInTheDocument();
    expect(screen.queryByTestId("sign-out")).not.toBeInTheDocument();
  });

  test("signing in shows the user's name and role, and every API call carries the token", async () => {
    const auth = fakeAuth();
    const calls = listApi();
    render(<App auth={auth} clock={() => NOW} />);
    const user = userEvent.setup();
    await user.type(await screen.findByTestId("signin-username"), "alice@example.com");
    await user.type(screen.getByTestId("signin-secret"), "Correct-Horse-9!");
    await user.click(screen.getByTestId("signin-submit"));

    expect(await screen.findByTestId("signed-in-user")).toHaveTextContent("alice@example.com");
    expect(screen.getByTestId("signed-in-role")).toHaveTextContent("editor");
    expect(auth.signIn).toHaveBeenCalledWith("alice@example.com", "Correct-Horse-9!");
    await user.click(screen.getByTestId("nav-kb"));
    await screen.findByText("No documents.");
    expect(calls.at(-1).headers["x-tars-token"]).toBe("access-1");
    expect(screen.getByTestId("kb-upload")).toBeInTheDocument();
  });

  test("a stored session skips the sign-in screen; signing out returns to it", async () => {
    const auth = fakeAuth({ current: editor });
    listApi();
    render(<App auth={auth} clock={() => NOW} />);
    const user = userEvent.setup();
    await user.click(await screen.findByTestId("sign-out"));
    expect(auth.signOut).toHaveBeenCalled();
    expect(await screen.findByTestId("signin-notice")).toHaveTextContent("You signed out.");
    expect(screen.queryByTestId("chat-question")).not.toBeInTheDocument();
  });

  test("a wrong password says so without telling whether the user exists", async () => {
    const auth = fakeAuth({
      signIn: async () => {
        throw Object.assign(new Error("Incorrect username or password."), { code: "NotAuthorizedException" });
      },
    });
    render(<App auth={auth} clock={() => NOW} />);
    const user = userEvent.setup();
    await user.type(await screen.findByTestId("signin-username"), "nobody@example.com");
    await user.type(screen.getByTestId("signin-secret"), "wrong");
    await user.click(screen.getByTestId("signin-submit"));
    expect(await screen.findByTestId("signin-error")).toHaveTextContent("Wrong e-mail or password.");
  });

  test("the first sign-in of an operator-created user sets a new password", async () => {
    const auth = fakeAuth({ signIn: async () => ({ next: "new-password" }) });
    listApi();
    render(<App auth={auth} clock={() => NOW} />);
    const user = userEvent.setup();
    await user.type(await screen.findByTestId("signin-username"), "alice@example.com");
    await user.type(screen.getByTestId("signin-secret"), "Temporary-1!");
    await user.click(screen.getByTestId("signin-submit"));
    expect(await screen.findByText(/Choose a new password/)).toBeInTheDocument();
    await user.type(screen.getByTestId("signin-secret"), "A-much-longer-Passw0rd!");
    await user.click(screen.getByTestId("signin-submit"));
    expect(auth.completeNewPassword).toHaveBeenCalledWith("A-much-longer-Passw0rd!");
    expect(await screen.findByTestId("signed-in-user")).toBeInTheDocument();
  });

  test("a viewer sees no write controls and is told why", async () => {
    listApi((call) => {
      if (call.action === "kb_list")
        return json({
          count: 1,
          total: 1,
          next_token: null,
          documents: [{ document_id: "d1", file_name: "a.md", status: "active", chunk_count: 2 }],
        });
      if (call.action === "list_incidents")
        return json({ count: 1, total: 1, next_token: null, incidents: [{ incident_id: "i1", title: "t", status: "open", severity: "P2" }] });
      return null;
    });
    render(<App auth={fakeAuth({ current: viewer })} clock={() => NOW} />);
    expect(await screen.findByTestId("viewer-notice")).toHaveTextContent("You are a viewer");
    const user = userEvent.setup();
    await user.click(screen.getByTestId("nav-kb"));
    const row = await screen.findByTestId("kb-row-d1");
    expect(within(row).queryByRole("button")).not.toBeInTheDocument();
    expect(screen.queryByTestId("kb-upload")).not.toBeInTheDocument();
    expect(screen.queryByTestId("kb-file")).not.toBeInTheDocument();
    await user.click(screen.getByTestId("nav-incidents"));
    expect(await screen.findByTestId("incident-status-i1")).toHaveTextContent("open");
    expect(screen.queryByTestId("incident-create")).not.toBeInTheDocument();
    expect(screen.queryByRole("combobox", { name: "Status of t" })).not.toBeInTheDocument();
  });

  test("a 401 from the API ends the session with a clear message", async () => {
    const auth = fakeAuth({ current: editor });
    listApi((call) => (call.action === "kb_list" ? json({ error: "the token has expired: sign in again", code: "token_expired" }, 401) : null));
    render(<App auth={auth} clock={() => NOW} />);
    const user = userEvent.setup();
    await user.click(await screen.findByTestId("nav-kb"));
    expect(await screen.findByTestId("signin-notice")).toHaveTextContent(
      "Your session is no longer accepted (the token has expired: sign in again): sign in again.",
    );
    expect(auth.signOut).toHaveBeenCalled();
  });

  test("a 403 from the API is a clear alert on the page", async () => {
    listApi((call) =>
      call.action === "create_incident"
        ? json({ error: "'create_incident' changes data: it needs the editor role (tars-editors); you are a viewer", code: "viewer_cannot_write" }, 403)
        : null,
    );
    window.location.hash = "#/incidents";
    render(<App auth={fakeAuth({ current: editor })} clock={() => NOW} />);
    const user = userEvent.setup();
    await user.type(await screen.findByTestId("incident-service"), "ledger");
    await user.type(screen.getByTestId("incident-title"), "lag");
    await user.click(screen.getByTestId("incident-create"));
    expect(await screen.findByTestId("incidents-error")).toHaveTextContent(
      "Not allowed: 'create_incident' changes data: it needs the editor role",
    );
  });

  test("the session is refreshed before the access token expires", async () => {
    // The refresh timer's delay is read from setTimeout's calls, and the timer is fired by hand:
    // no fake clock, so the test cannot depend on how loaded the machine is.
    const timers = vi.spyOn(globalThis, "setTimeout");
    const auth = fakeAuth({ current: sessionInfo(fakeSession({ exp: NOW + REFRESH_MARGIN_S + 60 })) });
    listApi();
    render(<App auth={auth} clock={() => NOW} />);
    await screen.findByTestId("signed-in-user");
    const refresh = await waitFor(() => {
      const found = timers.mock.calls.find(([, delay]) => delay === 60_000);
      expect(found).toBeDefined();
      return found[0];
    });
    expect(auth.refresh).not.toHaveBeenCalled();
    await act(async () => refresh());
    expect(auth.refresh).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId("signed-in-user")).toBeInTheDocument();
  });

  test("a refresh that fails signs the user out with a message", async () => {
    const auth = fakeAuth({ current: sessionInfo(fakeSession({ exp: NOW + REFRESH_MARGIN_S })) });
    auth.refresh.mockRejectedValue(new Error("Refresh Token has expired"));
    listApi();
    render(<App auth={auth} clock={() => NOW} />);
    expect(await screen.findByTestId("signin-notice")).toHaveTextContent("Your session has ended: sign in again.");
  });
});

describe("CognitoAuth (amazon-cognito-identity-js underneath)", () => {
  function library({ onAuthenticate, session = fakeSession() } = {}) {
    const made = { pools: [], users: [] };
    class Pool {
      constructor(options) {
        this.options = options;
        made.pools.push(this);
      }
      getCurrentUser() {
        return made.users.at(-1) || null;
      }
    }
    class User {
      constructor(options) {
        this.options = options;
        made.users.push(this);
        this.session = session;
      }
      setAuthenticationFlowType(flow) {
        this.flow = flow;
      }
      authenticateUser(details, callbacks) {
        this.details = details;
        (onAuthenticate || ((cb) => cb.onSuccess(session)))(callbacks, this);
      }
      completeNewPasswordChallenge(password, attrs, callbacks) {
        this.newPassword = password;
        callbacks.onSuccess(session);
      }
      sendMFACode(code, callbacks, type) {
        this.mfa = [code, type];
        callbacks.onSuccess(session);
      }
      getSession(cb) {
        cb(null, this.session);
      }
      refreshSession(refreshToken, cb) {
        this.refreshedWith = refreshToken;
        this.session = fakeSession({ token: "access-2", exp: NOW + 3600 });
        cb(null, this.session);
      }
      signOut() {
        this.signedOut = true;
      }
    }
    class Details {
      constructor(options) {
        this.options = options;
      }
    }
    return { made, deps: { Pool, User, Details, storage: window.sessionStorage } };
  }

  const config = { userPoolId: "us-east-1_abc", clientId: "c1", region: "us-east-1", endpoint: "http://127.0.0.1:5000" };

  test("signs in with SRP through the library, keeping tokens in sessionStorage", async () => {
    const { made, deps } = library();
    const auth = new CognitoAuth(config, deps);
    const result = await auth.signIn("alice@example.com", "pw");
    expect(made.pools[0].options).toEqual({ UserPoolId: "us-east-1_abc", ClientId: "c1", Storage: window.sessionStorage, endpoint: "http://127.0.0.1:5000" });
    expect(made.users[0].details.options).toEqual({ Username: "alice@example.com", Password: "pw" });
    expect(made.users[0].flow).toBeUndefined(); // the library's default: USER_SRP_AUTH
    expect(result.session).toMatchObject({ username: "alice@example.com", role: "editor", token: "access-1" });
  });

  test("a build for the emulator signs in with USER_PASSWORD_AUTH behind the same screen", async () => {
    const { made, deps } = library();
    const auth = new CognitoAuth({ ...config, authFlow: "USER_PASSWORD_AUTH" }, deps);
    await auth.signIn("alice@example.com", "pw");
    expect(made.users[0].flow).toBe("USER_PASSWORD_AUTH");
  });

  test("the new-password and authenticator-code challenges go back to the same user", async () => {
    const { made, deps } = library({ onAuthenticate: (cb) => cb.newPasswordRequired({}, []) });
    const auth = new CognitoAuth(config, deps);
    expect(await auth.signIn("alice@example.com", "temp")).toEqual({ next: "new-password" });
    await auth.completeNewPassword("New-Passw0rd-long!");
    expect(made.users[0].newPassword).toBe("New-Passw0rd-long!");
    const totp = library({ onAuthenticate: (cb) => cb.totpRequired("SOFTWARE_TOKEN_MFA") });
    const second = new CognitoAuth(config, totp.deps);
    expect(await second.signIn("alice@example.com", "pw")).toEqual({ next: "totp" });
    await second.sendTotp("123456");
    expect(totp.made.users[0].mfa).toEqual(["123456", "SOFTWARE_TOKEN_MFA"]);
  });

  test("the access token is refreshed when it has less than the margin left", async () => {
    const { made, deps } = library({ session: fakeSession({ exp: NOW + REFRESH_MARGIN_S - 1 }) });
    const auth = new CognitoAuth(config, deps);
    await auth.signIn("alice@example.com", "pw");
    expect(await auth.accessToken(NOW)).toBe("access-2");
    expect(made.users[0].refreshedWith).toEqual({ token: "refresh-1" });
    const fresh = library({ session: fakeSession({ exp: NOW + REFRESH_MARGIN_S + 1 }) });
    const other = new CognitoAuth(config, fresh.deps);
    await other.signIn("alice@example.com", "pw");
    expect(await other.accessToken(NOW)).toBe("access-1");
    expect(fresh.made.users[0].refreshedWith).toBeUndefined();
    other.signOut();
    expect(fresh.made.users[0].signedOut).toBe(true);
  });
});

describe("pagination", () => {
  test("the knowledge base and incident lists page with next_token", async () => {
    const calls = listApi((call) => {
      const token = call.url.searchParams.get("next_token");
      if (call.action === "kb_list")
        return json(
          token === "t2"
            ? { count: 1, total: 2, next_token: null, documents: [{ document_id: "d2", file_name: "b.md", status: "active" }] }
            : { count: 1, total: 2, next_token: "t2", documents: [{ document_id: "d1", file_name: "a.md", status: "active" }] },
        );
      if (call.action === "list_incidents")
        return json(
          token === "i2"
            ? { count: 1, total: 2, next_token: null, incidents: [{ incident_id: "n2", title: "second", status: "open" }] }
            : { count: 1, total: 2, next_token: "i2", incidents: [{ incident_id: "n1", title: "first", status: "open" }] },
        );
      return null;
    });
    render(<App auth={null} />);
    const user = userEvent.setup();
    await user.click(screen.getByTestId("nav-kb"));
    await screen.findByTestId("kb-row-d1");
    expect(screen.getByTestId("kb-count")).toHaveTextContent("Documents (1 of 2)");
    await user.click(screen.getByTestId("kb-more"));
    await screen.findByTestId("kb-row-d2");
    expect(screen.getByTestId("kb-row-d1")).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByTestId("kb-more")).not.toBeInTheDocument());
    expect(calls.filter((c) => c.action === "kb_list").map((c) => c.url.searchParams.get("next_token"))).toEqual([null, "t2"]);

    await user.click(screen.getByTestId("nav-incidents"));
    await screen.findByTestId("incident-row-n1");
    await user.click(screen.getByTestId("incidents-more"));
    await screen.findByTestId("incident-row-n2");
    expect(screen.getByTestId("incidents-count")).toHaveTextContent("Incidents (2)");
  });
});
