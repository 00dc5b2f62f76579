import { useState } from "react";
import { signInMessage } from "./auth.js";
import ErrorAlert from "./ErrorAlert.jsx";

// The sign-in screen: e-mail and password, then whatever Cognito asks next (a new password on the
// first sign-in of an operator-created user, an authenticator code, or the MFA set-up).
export default function SignIn({ auth, notice, onSignedIn }) {
  const [step, setStep] = useState({ name: "password" });
  const [username, setUsername] = useState("");
  const [secret, setSecret] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");

  async function run(action) {
    setBusy(true);
    setError("");
    try {
      const result = await action();
      setSecret("");
      if (result.session) onSignedIn(result.session);
      else setStep({ name: result.next, secret: result.secret });
    } catch (err) {
      setError(signInMessage(err));
    } finally {
      setBusy(false);
    }
  }

  function submit(event) {
    event.preventDefault();
    if (busy || !secret) return;
    if (step.name === "password") run(() => auth.signIn(username.trim(), secret));
    else if (step.name === "new-password") run(() => auth.completeNewPassword(secret));
    else if (step.name === "totp") run(() => auth.sendTotp(secret.trim()));
    else if (step.name === "mfa-setup") run(() => auth.verifyTotpSetup(secret.trim()));
  }

  const labels = {
    password: ["Password", "password", "current-password", "Sign in"],
    "new-password": ["Choose a new password (14+ characters: upper and lower case, digits, symbols)", "password", "new-password", "Set password"],
    totp: ["Code from your authenticator app", "text", "one-time-code", "Verify"],
    "mfa-setup": ["First code from your authenticator app", "text", "one-time-code", "Turn on MFA"],
  }[step.name];

  return (
    <main className="signin">
      <form className="card form" onSubmit={submit} aria-label="Sign in">
        <h2>Sign in to TARS</h2>
        {notice && (
          <p className="notice" role="status" data-testid="signin-notice">
            {notice}
          </p>
        )}
        {step.name === "password" && (
          <label>
            E-mail
            <input data-testid="signin-username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} />
          </label>
        )}
        {step.name === "mfa-setup" && (
          <p data-testid="signin-mfa-secret">
            Add TARS to your authenticator app with this key: <code>{step.secret}</code>
          </p>
        )}
        <label>
          {labels[0]}
          <input
            data-testid="signin-secret"
            type={labels[1]}
            autoComplete={labels[2]}
            value={secret}
            onChange={(e) => setSecret(e.target.value)}
          />
        </label>
        <ErrorAlert message={error} testId="signin-error" />
        <button type="submit" data-testid="signin-submit" disabled={busy || !secret || (step.name === "password" && !username.trim())}>
          {busy ? "Signing in…" : labels[3]}
        </button>
      </form>
    </main>
  );
}
