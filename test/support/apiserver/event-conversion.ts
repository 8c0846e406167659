/**
 * events.k8s.io/v1 Events are a view of the core v1 Event storage, as in the apiserver
 * (pkg/apis/events/v1 conversion): same objects, some fields renamed. Both directions
 * are pure renames, so a round trip returns the input.
 */
import type { Obj } from './store.ts';

/** [core v1 name, events.k8s.io/v1 name] */
const RENAMED: readonly (readonly [string, string])[] = [
  ['involvedObject', 'regarding'],
  ['message', 'note'],
  ['reportingComponent', 'reportingController'],
  ['source', 'deprecatedSource'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['count', 'deprecatedCount'],
];

function rename(obj: Obj, from: 0 | 1): Obj {
  const to = from === 0 ? 1 : 0;
  const out: Obj = {};
  const names = new Map(RENAMED.map((pair) => [pair[from], pair[to]]));
  for (const [k, v] of Object.entries(obj)) out[names.get(k) ?? k] = v;
  return out;
}

/** events.k8s.io/v1 form to the stored core v1 form. */
export function eventToCore(obj: Obj): Obj {
  return rename(obj, 1);
}

/** Stored core v1 form to the events.k8s.io/v1 form. */
export function eventFromCore(obj: Obj): Obj {
  return rename(obj, 0);
}
