import type { ApiAccess, Verb } from './api-access.ts';

/** One RBAC PolicyRule (rbac.authorization.k8s.io/v1). */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: Verb[];
}

/**
 * The rules of one scope, merged where entries share a group and verbs, in the order the
 * access list gives them (a stable order keeps the generated files stable).
 */
export function policyRules(access: readonly ApiAccess[], scope: ApiAccess['scope']): PolicyRule[] {
  const rules: PolicyRule[] = [];
  for (const entry of access) {
    if (entry.scope !== scope) continue;
    const verbs = [...entry.verbs];
    const same = rules.find(
      (r) => r.apiGroups[0] === entry.group && r.verbs.join() === verbs.join(),
    );
    if (same) same.resources.push(entry.resource);
    else rules.push({ apiGroups: [entry.group], resources: [entry.resource], verbs });
  }
  return rules;
}

/** Whether a rule set allows `verb` on `group`/`resource` (wildcards are never generated). */
export function allows(
  rules: readonly PolicyRule[],
  group: string,
  resource: string,
  verb: Verb,
): boolean {
  return rules.some(
    (r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
  );
}
