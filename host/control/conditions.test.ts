import { describe, expect, it } from 'vitest';
import { error, warning } from '../api/issue.ts';
import { condition, eventsFor, notUsedCondition, validCondition } from './conditions.ts';

describe('validCondition', () => {
  it('True without issues', () => {
    expect(validCondition([])).toEqual({
      type: 'Valid',
      status: 'True',
      reason: 'Valid',
      message: 'the spec is valid',
    });
  });
  it('False with the first error’s reason and every error’s message; warnings left out', () => {
    const issues = [
      warning('NonCanonicalCIDR', 'w'),
      error('InvalidRange', 'first'),
      error('OverlappingRanges', 'second'),
    ];
    expect(validCondition(issues)).toEqual({
      type: 'Valid',
      status: 'False',
      reason: 'InvalidRange',
      message: 'first; second',
    });
  });
});

describe('eventsFor', () => {
  it('one Warning per issue and per False working condition, none for Invalid', () => {
    const issues = [error('IPConflict', 'taken')];
    const conditions = [
      validCondition(issues),
      notUsedCondition('IPAssigned'),
      condition('Ready', false, 'NoSuitableNodes', 'none'),
      condition('IPAllocated', true, 'Allocated', 'ok'),
    ];
    expect(eventsFor(issues, conditions)).toEqual([
      { type: 'Warning', reason: 'IPConflict', message: 'taken' },
      { type: 'Warning', reason: 'NoSuitableNodes', message: 'none' },
    ]);
  });
});
