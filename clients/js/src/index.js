// The module build. `funnelhouse` is the page's tracker (null outside a
// browser, for example during server-side rendering); createTracker makes
// another one over any window-like object.
import { createTracker, VERSION } from './tracker.js';

export { createTracker, VERSION };
export const funnelhouse = typeof window === 'undefined' ? null : createTracker(window);
export default funnelhouse;
