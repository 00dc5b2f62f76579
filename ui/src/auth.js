// Sign-in with the SRE team's Cognito user pool (amazon-cognito-identity-js: SRP, so the password
// never leaves the browser). Configured at build time by VITE_COGNITO_USER_POOL_ID,
// VITE_COGNITO_CLIENT_ID and VITE_COGNITO_REGION (VITE_COGNITO_ENDPOINT points it at an emulator,
// VITE_COGNITO_AUTH_FLOW=USER_PASSWORD_AUTH for an emulator that cannot do SRP); without them the
// UI has no sign-in (and the API, which fails closed, answers a person 503).
//
// Tokens live in sessionStorage (gone when the tab closes). The API gets the access token in
// x-tars-token; it is refreshed with the refresh token when it has less than REFRESH_MARGIN_S left.
import { AuthenticationDetails, CognitoUser, CognitoUserPool } from "amazon-cognito-identity-js";

export const REFRESH_MARGIN_S = 5 * 60;
export const EDITORS = "tars-editors";
export const VIEWERS = "tars-viewers";

/** The user pool the build names, or null (no sign-in). */
export function authConfig(env = import.meta.env) {
  const userPoolId = (env.VITE_COGNITO_USER_POOL_ID || "").trim();
  const clientId = (env.VITE_COGNITO_CLIENT_ID || "").trim();
  if (!userPoolId || !clientId) return null;
  const region = (env.VITE_COGNITO_REGION || "").trim() || userPoolId.split("_")[0];
  const endpoint = (env.VITE_COGNITO_ENDPOINT || "").trim() || undefined;
  // SRP unless the build says otherwise: the local emulator (moto) cannot complete SRP (it looks
  // the user up by USER_ID_FOR_SRP, which it does not know, and never checks the proof), so the
  // local build signs in with USER_PASSWORD_AUTH, which moto does check. Same screen, same tokens.
  const authFlow = (env.VITE_COGNITO_AUTH_FLOW || "").trim() === "USER_PASSWORD_AUTH" ? "USER_PASSWORD_AUTH" : "USER_SRP_AUTH";
  return { userPoolId, clientId, region, endpoint, authFlow };
}

/** What the UI needs from a session: who, which role, the token and when it expires. */
export function sessionInfo(session) {
  const access = session.getAccessToken();
  const claims = access.decodePayload();
  const groups = Array.isArray(claims["cognito:groups"]) ? claims["cognito:groups"] : [];
  const role = groups.includes(EDITORS) ? "editor" : groups.includes(VIEWERS) ? "viewer" : null;
  return { username: claims.username || claims.sub, groups, role, token: access.getJwtToken(), expiresAt: access.getExpiration() };
}

/** A sign-in error as one sentence for the form (Cognito's own names never reach the screen). */
export function signInMessage(err) {
  const code = (err && (err.code || err.name)) || "";
  if (code === "NotAuthorizedException" || code === "UserNotFoundException")
    return "Wrong e-mail or password.";
  if (code === "PasswordResetRequiredException") return "Your password was reset by an operator: ask them for a new one.";
  if (code === "CodeMismatchException" || code === "EnableSoftwareTokenMFAException") return "That code is not right: try the current one.";
  if (code === "InvalidPasswordException") return `The new password is too weak: ${err.message}`;
  if (code === "TooManyRequestsException" || code === "LimitExceededException") return "Too many attempts: wait a minute.";
  if (code === "NetworkError" || (err && err.message === "Network error")) return "Cannot reach the sign-in service.";
  return (err && err.message) || "Sign-in failed.";
}

export class CognitoAuth {
  constructor(config, { Pool = CognitoUserPool, User = CognitoUser, Details = AuthenticationDetails, storage } = {}) {
    this.storage = storage || window.sessionStorage;
    this.pool = new Pool({ UserPoolId: config.userPoolId, ClientId: config.clientId, Storage: this.storage, endpoint: config.endpoint });
    this.User = User;
    this.Details = Details;
    this.authFlow = config.authFlow || "USER_SRP_AUTH";
    this.user = null;
    this.pending = null; // the CognitoUser in the middle of a challenge
  }

  /** The stored session (refreshed if its access token expired), or null. */
  current() {
    const user = this.pool.getCurrentUser();
    if (!user) return Promise.resolve(null);
    return new Promise((resolve) => {
      user.getSession((err, session) => {
        if (err || !session || !session.isValid()) return resolve(null);
        this.user = user;
        resolve(sessionInfo(session));
      });
    });
  }

  _callbacks(user, resolve, reject) {
    return {
      onSuccess: (session) => {
        this.user = user;
        this.pending = null;
        resolve({ session: sessionInfo(session) });
      },
      onFailure: (err) => reject(err),
      newPasswordRequired: () => {
        this.pending = user;
        resolve({ next: "new-password" });
      },
      totpRequired: () => {
        this.pending = user;
        resolve({ next: "totp" });
      },
      mfaSetup: () => {
        this.pending = user;
        user.associateSoftwareToken({
          associateSecretCode: (secret) => resolve({ next: "mfa-setup", secret }),
          onFailure: (err) => reject(err),
        });
      },
    };
  }

  signIn(username, password) {
    const user = new this.User({ Username: username, Pool: this.pool, Storage: this.storage });
    const details = new this.Details({ Username: username, Password: password });
    if (this.authFlow !== "USER_SRP_AUTH") user.setAuthenticationFlowType(this.authFlow);
    return new Promise((resolve, reject) => user.authenticateUser(details, this._callbacks(user, resolve, reject)));
  }

  /** First sign-in of a user an operator created: the temporary password is replaced. */
  completeNewPassword(password) {
    const user = this.pending;
    return new Promise((resolve, reject) => user.completeNewPasswordChallenge(password, {}, this._callbacks(user, resolve, reject)));
  }

  sendTotp(code) {
    const user = this.pending;
    return new Promise((resolve, reject) => user.sendMFACode(code, this._callbacks(user, resolve, reject), "SOFTWARE_TOKEN_MFA"));
  }

  /** MFA required and not set up yet: the authenticator app's first code confirms it. */
  verifyTotpSetup(code) {
    const user = this.pending;
    return new Promise((resolve, reject) =>
      user.verifySoftwareToken(code, "TARS", {
        onSuccess: (session) => {
          this.user = user;
          this.pending = null;
          resolve({ session: sessionInfo(session) });
        },
        onFailure: (err) => reject(err),
      }),
    );
  }

  /** A fresh session from the refresh token. */
  refresh() {
    const user = this.user;
    if (!user) return Promise.reject(new Error("not signed in"));
    return new Promise((resolve, reject) =>
      user.getSession((err, session) => {
        if (err) return reject(err);
        user.refreshSession(session.getRefreshToken(), (err2, fresh) => (err2 ? reject(err2) : resolve(sessionInfo(fresh))));
      }),
    );
  }

  /** The access token for the API, refreshed first when it has less than REFRESH_MARGIN_S left. */
  async accessToken(now = Date.now() / 1000) {
    const info = await this.current();
    if (!info) return null;
    if (info.expiresAt - now > REFRESH_MARGIN_S) return info.token;
    return (await this.refresh()).token;
  }

  signOut() {
    const user = this.user || this.pool.getCurrentUser();
    this.user = null;
    this.pending = null;
    if (user) user.signOut();
  }
}

/** The app's auth: a CognitoAuth when the build names a user pool, else null. */
export function defaultAuth(env = import.meta.env) {
  const config = authConfig(env);
  return config ? new CognitoAuth(config) : null;
}
