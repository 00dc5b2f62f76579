/** A visible error: role="alert" so screen readers announce it and tests can find it. */
export default function ErrorAlert({ message, testId, onDismiss }) {
  if (!message) return null;
  return (
    <div className="alert" role="alert" data-testid={testId}>
      <span>{message}</span>
      {onDismiss && (
        <button type="button" className="link" onClick={onDismiss} aria-label="Dismiss error">
          ×
        </button>
      )}
    </div>
  );
}
