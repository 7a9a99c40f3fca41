// Types of the Funnelhouse browser tracker (src/tracker.js).

export declare const VERSION: string;

/** Consent: `required` sends nothing and stores nothing until analytics consent is given. */
export interface ConsentOptions {
  /** Send nothing, store nothing, until consent is granted. Default false. */
  required?: boolean;
  /** The consent category that must be true. Default "analytics". */
  category?: string;
  /** The visitor's choice for `category`, when the page knows it. */
  granted?: boolean;
  /** The consent manager's preferences, category to true/false; sent as context.consent.categoryPreferences. */
  categories?: Record<string, boolean>;
}

/** What went wrong with delivery (onError). */
export interface Problem {
  reason: 'retrying' | 'refused' | 'event_too_large' | 'queue_full' | string;
  status?: number;
  event_id?: string;
  errors?: { path: string; message: string }[];
  attempt?: number;
  wait?: number;
  dropped?: number;
  limit?: number;
  events?: number;
  message?: string;
}

export interface InitOptions {
  /** The Funnelhouse server, e.g. "https://collect.shop.example". */
  host: string;
  /** A browser write key. */
  writeKey: string;
  consent?: ConsentOptions;
  /** Events per request (20). */
  flushAt?: number;
  /** Milliseconds an event waits for others before a request (300). */
  flushInterval?: number;
  /** Bytes per request, also per sendBeacon call (60000). */
  maxBatchBytes?: number;
  /** Larger events are refused on the page (32000; the server's default limit is 32768). */
  maxEventBytes?: number;
  /** Events kept, in memory and in localStorage, while the server cannot be reached (1000). */
  maxQueue?: number;
  /** First wait after a failure in ms, doubled each time (1000), up to retryMax (60000). */
  retryBase?: number;
  retryMax?: number;
  /** Inactivity that ends a session, ms (1800000). */
  sessionTimeout?: number;
  /** Life of the id cookies in days (365). */
  cookieDays?: number;
  /** Cookie domain, to share ids across subdomains, e.g. "shop.example". Default: this host only. */
  cookieDomain?: string;
  onError?: (problem: Problem) => void;
}

export interface CallOptions {
  /** Send with this event id (from newEventId()) instead of a new one. */
  eventId?: string;
  /** Merged into the message's context, e.g. { schema: "add_to_cart/1-0-0" }. */
  context?: Record<string, unknown>;
}

export interface TrackerState {
  anonymousId: string | null;
  userId: string | null;
  sessionId: string | null;
  consent: Record<string, boolean> | null;
  granted: boolean;
  queued: number;
  dropped: number;
  failures: number;
}

/** Each call that sends returns the event id, or null when consent forbids sending or the event is too large. Calls before init() throw, except newEventId() and state(). */
export interface Tracker {
  init(options: InitOptions): Tracker;
  page(name?: string, properties?: Record<string, unknown>, options?: CallOptions): string | null;
  track(event: string, properties?: Record<string, unknown>, options?: CallOptions): string | null;
  identify(userId?: string | number | null, traits?: Record<string, unknown>, options?: CallOptions): string | null;
  alias(userId: string | number, previousId?: string, options?: CallOptions): string | null;
  reset(): void;
  newEventId(): string;
  /** Sets the visitor's choice; returns whether tracking is on. */
  consent(state: boolean | Record<string, boolean> | null): boolean;
  flush(): Promise<void> | void;
  state(): TrackerState;
}

export declare function createTracker(win: Window): Tracker;
/** The page's tracker; null outside a browser. */
export declare const funnelhouse: Tracker | null;
export default funnelhouse;

declare global {
  interface Window { funnelhouse: Tracker }
}
