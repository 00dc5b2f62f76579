// Who is signed in, for every page: their name, their role and whether they may change data.
// Without sign-in (no user pool configured) everyone may, as before.
import { createContext, useContext } from "react";

export const NO_SIGN_IN = { enabled: false, user: null, canWrite: true, signOut: () => {} };
export const SessionContext = createContext(NO_SIGN_IN);

export function useSession() {
  return useContext(SessionContext);
}
