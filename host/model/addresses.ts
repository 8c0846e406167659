/** An IPv4 address in dotted-quad form, e.g. "10.10.0.8". */
export type IPv4 = string;

/** An IPv4 prefix in CIDR notation, e.g. "10.10.1.0/28". A bare address means /32. */
export type Cidr = string;
