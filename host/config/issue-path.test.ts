import { describe, expect, it } from 'vitest';
import { error, warning } from '../api/issue.ts';
import { issueField, leadingFieldPath } from './issue-path.ts';

const noExtraFields: ReadonlySet<string> = new Set();

describe('leadingFieldPath', () => {
  it('reads paths as schema-check.ts writes them', () => {
    const cases: [string, (string | number)[], string][] = [
      ['spec.ipRanges[0].start: bad', ['spec', 'ipRanges', 0, 'start'], ': bad'],
      ['spec: give egressIP', ['spec'], ': give egressIP'],
      [
        'spec.ipRanges[0] (a) and spec.ipRanges[1] (b) overlap',
        ['spec', 'ipRanges', 0],
        ' (a) and spec.ipRanges[1] (b) overlap',
      ],
      [
        'metadata.labels["app.kubernetes.io/name"]: must be string',
        ['metadata', 'labels', 'app.kubernetes.io/name'],
        ': must be string',
      ],
      [
        'spec.selectors[2].podSelector.matchExpressions[10]',
        ['spec', 'selectors', 2, 'podSelector', 'matchExpressions', 10],
        '',
      ],
      ['status', ['status'], ''],
    ];
    for (const [message, path, rest] of cases) {
      expect(leadingFieldPath(message, noExtraFields), message).toEqual({ path, rest });
    }
  });

  it('finds no path in messages that do not start with a field of the object', () => {
    for (const message of [
      'another Egress named x comes first; this one is ignored',
      'must be object, got 1',
      'spec2: x',
      'spec-like text',
      '',
    ]) {
      expect(leadingFieldPath(message, noExtraFields), message).toBeNull();
    }
  });

  it('stops at a quoted segment that is not a JSON string', () => {
    expect(leadingFieldPath('metadata.labels["a\\q"]: x', noExtraFields)).toBeNull();
    expect(leadingFieldPath('metadata.labels["a\\q"]', noExtraFields)).toBeNull();
    expect(leadingFieldPath('metadata ["a\\q"]', noExtraFields)?.path).toEqual(['metadata']);
  });

  it('accepts a first segment that is a top-level field of the object', () => {
    expect(leadingFieldPath('data.x: bad', new Set(['data']))?.path).toEqual(['data', 'x']);
  });
});

describe('issueField', () => {
  it('points at the key of an unknown field', () => {
    expect(
      issueField(error('SchemaViolation', 'spec: unknown field "bogus"'), noExtraFields),
    ).toEqual({
      path: ['spec', 'bogus'],
      on: 'key',
    });
    expect(issueField(error('SchemaViolation', 'unknown field "top"'), noExtraFields)).toEqual({
      path: [],
      on: 'value',
    });
  });

  it('points at the value of any other field, and a duplicate at its name', () => {
    expect(
      issueField(warning('NonCanonicalCIDR', 'spec.excludedCIDRs[3]: x'), noExtraFields),
    ).toEqual({
      path: ['spec', 'excludedCIDRs', 3],
      on: 'value',
    });
    expect(
      issueField(error('DuplicateName', 'another Node named a comes first'), noExtraFields),
    ).toEqual({ path: ['metadata', 'name'], on: 'value' });
  });
});
