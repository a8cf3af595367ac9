import { defineStore } from 'pinia';
import { api, ApiError, type Me, type Role } from '../api';

// sessionStorage, not localStorage: the token dies with the tab and is not shared with other tabs.
const STORAGE_KEY = 'tfmirror.session';

interface Saved {
  token: string;
  expiresAt: string;
}

export type EndReason = 'signed-out' | 'expired';

let expiryTimer: ReturnType<typeof setTimeout> | undefined;

function readSaved(): Saved | undefined {
  try {
    const text = sessionStorage.getItem(STORAGE_KEY);
    const saved = text ? (JSON.parse(text) as Partial<Saved>) : undefined;
    return saved && typeof saved.token === 'string' && typeof saved.expiresAt === 'string' ? (saved as Saved) : undefined;
  } catch {
    return undefined;
  }
}

export const useSession = defineStore('session', {
  state: () => ({
    token: undefined as string | undefined,
    expiresAt: undefined as string | undefined,
    me: undefined as Me | undefined,
    /** Why the last session ended, for the login page to say. */
    ended: undefined as EndReason | undefined,
  }),
  getters: {
    signedIn: (s) => s.token !== undefined,
    role: (s): Role | undefined => s.me?.role,
    /** Admins change things; viewers and the operator role only look (the server refuses them anyway). */
    isAdmin: (s) => s.me?.role === 'admin',
    /** Loads and retries are also open to the operator role. */
    canLoad: (s) => s.me?.role === 'admin' || s.me?.role === 'operator',
    who: (s) => s.me?.user?.username ?? s.me?.actor,
  },
  actions: {
    /** Picks up the tab's session after a reload, unless it has expired meanwhile. */
    restore(now = Date.now()): boolean {
      const saved = readSaved();
      if (!saved || Date.parse(saved.expiresAt) <= now) {
        sessionStorage.removeItem(STORAGE_KEY);
        return false;
      }
      this.start(saved, now);
      return true;
    },
    start(saved: Saved, now = Date.now()) {
      this.token = saved.token;
      this.expiresAt = saved.expiresAt;
      this.ended = undefined;
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(saved));
      clearTimeout(expiryTimer);
      // setTimeout holds at most ~24.8 days; sessions are far shorter, but do not overflow into "now".
      const ms = Math.min(Date.parse(saved.expiresAt) - now, 2 ** 31 - 1);
      expiryTimer = setTimeout(() => this.end('expired'), Math.max(0, ms));
    },
    async login(username: string, password: string): Promise<void> {
      const result = await api().login(username, password);
      this.start(result);
      await this.loadMe();
    },
    async loadMe(): Promise<void> {
      this.me = await api().me();
    },
    async logout(): Promise<void> {
      try {
        if (this.token) await api().logout();
      } catch (err) {
        // Signing out locally matters more than the server's answer (an API token has no session to revoke).
        if (!(err instanceof ApiError)) throw err;
      } finally {
        this.end('signed-out');
      }
    },
    /** Forgets the session: the router sends the page to /ui/login. */
    end(reason: EndReason) {
      clearTimeout(expiryTimer);
      expiryTimer = undefined;
      sessionStorage.removeItem(STORAGE_KEY);
      this.token = undefined;
      this.expiresAt = undefined;
      this.me = undefined;
      this.ended = reason;
    },
  },
});
