// Who the console acts as: an API key kept in this tab's sessionStorage, or, on
// `assay server --local`, the local user with no key at all.
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { api, setUnauthenticatedHandler, storedKey, storeKey, type Me } from "./api";
import { messageOf } from "./lib/errors";

interface Auth {
  me: Me | null;
  local: boolean;
  checking: boolean;
  login: (key: string) => Promise<void>;
  logout: () => void;
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [local, setLocal] = useState(false);
  const [checking, setChecking] = useState(true);

  useEffect(() => {
    let gone = false;
    const key = storedKey();
    // With a stored key: who it is. Without: whether the server serves the local user.
    api<Me>("/users/me", { key })
      .then((who) => {
        if (gone) return;
        setMe(who);
        setLocal(!key);
      })
      .catch(() => {
        if (gone) return;
        if (key) storeKey(null);
        setMe(null);
      })
      .finally(() => !gone && setChecking(false));
    return () => {
      gone = true;
    };
  }, []);

  const logout = useCallback(() => {
    storeKey(null);
    setMe(null);
    setLocal(false);
  }, []);

  useEffect(() => {
    setUnauthenticatedHandler(() => {
      if (!local) logout();
    });
    return () => setUnauthenticatedHandler(null);
  }, [local, logout]);

  const login = useCallback(async (key: string) => {
    const who = await api<Me>("/users/me", { key });
    storeKey(key);
    setMe(who);
    setLocal(false);
  }, []);

  return <AuthContext.Provider value={{ me, local, checking, login, logout }}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error("useAuth outside AuthProvider");
  return ctx;
}

export { messageOf };
