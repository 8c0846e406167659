// Per-packet verdicts (assembly/README.md). Drops carry their reason.
export const V_FORWARD: u8 = 0;
export const V_MALFORMED: u8 = 1;
export const V_UNSUPPORTED: u8 = 2;
export const V_NO_POLICY: u8 = 3;
export const V_NO_FLOW: u8 = 4;
export const V_PORTS_EXHAUSTED: u8 = 5;
export const V_HELD: u8 = 6;
export const V_FRAGMENT_DROPPED: u8 = 7;
