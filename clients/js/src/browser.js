// The script-tag build: one tracker on `window.funnelhouse`.
import { createTracker } from './tracker.js';

window.funnelhouse = createTracker(window);
