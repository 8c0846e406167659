import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { chartDirectory, manifestDirectory } from '../generate.ts';
import { renderTemplate } from './go-template.ts';

/** Every YAML document of a text, as plain data; YAML errors throw. */
export function documents(text: string, source: string): Record<string, unknown>[] {
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]!.message}`);
    return doc.toJS() as Record<string, unknown>;
  });
}

/** The committed plain manifests by file name. */
export function manifestObjects(): Map<string, Record<string, unknown>[]> {
  const out = new Map<string, Record<string, unknown>[]>();
  for (const name of readdirSync(manifestDirectory).sort()) {
    out.set(name, documents(readFileSync(join(manifestDirectory, name), 'utf8'), name));
  }
  return out;
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

/** The committed chart rendered the way `helm template --namespace <ns>` would. */
export function renderChart(
  values: Record<string, unknown> = chartValues(),
  namespace = 'egressgw',
): Map<string, Record<string, unknown>[]> {
  const out = new Map<string, Record<string, unknown>[]>();
  for (const [name, text] of chartTemplates()) {
    const rendered = renderTemplate(text, {
      Values: values,
      Release: { Name: 'egressgw', Namespace: namespace },
    });
    out.set(name, documents(rendered, `templates/${name}`));
  }
  return out;
}
