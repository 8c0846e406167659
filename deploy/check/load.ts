import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { chartDirectory, manifestDirectory } from '../generate.ts';
import { renderTemplate, type TemplateContext } from './go-template.ts';

/**
 * Every YAML document of a text, as plain data; YAML errors throw. Empty documents (a
 * template switched off) are left out, as kubectl and Helm leave them out.
 */
export function documents(text: string, source: string): Record<string, unknown>[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]!.message}`);
    const object = doc.toJS() as Record<string, unknown> | null;
    return object === null ? [] : [object];
  });
}

/** The committed plain manifests by path under deploy/manifests/ (antrea-crds/ too). */
export function manifestObjects(): Map<string, Record<string, unknown>[]> {
  const out = new Map<string, Record<string, unknown>[]>();
  for (const entry of readdirSync(manifestDirectory, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const name = relative(manifestDirectory, path);
    out.set(name, documents(readFileSync(path, 'utf8'), name));
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function chartValues(): Record<string, unknown> {
  return parse(readFileSync(join(chartDirectory, 'values.yaml'), 'utf8')) as Record<
    string,
    unknown
  >;
}

export function chartTemplates(): Map<string, string> {
  const dir = join(chartDirectory, 'templates');
  return new Map(
    readdirSync(dir)
      .sort()
      .map((name) => [name, readFileSync(join(dir, name), 'utf8')]),
  );
}

/**
 * The committed chart rendered the way `helm template --namespace <ns>` would, or, given
 * `lookup`, the way `helm install`/`upgrade` would against a cluster holding those objects.
 */
export function renderChart(
  values: Record<string, unknown> = chartValues(),
  namespace = 'egressgw',
  lookup?: TemplateContext['lookup'],
): Map<string, Record<string, unknown>[]> {
  const out = new Map<string, Record<string, unknown>[]>();
  for (const [name, text] of chartTemplates()) {
    const rendered = renderTemplate(text, {
      Values: values,
      Release: { Name: 'egressgw', Namespace: namespace },
      ...(lookup === undefined ? {} : { lookup }),
    });
    out.set(name, documents(rendered, `templates/${name}`));
  }
  return out;
}
