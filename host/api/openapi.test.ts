import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { assertStructural, OpenApiError, toOpenApi } from './openapi.ts';
import { StrictObject, StringEnum, StringMap } from './schema-kit.ts';

describe('toOpenApi', () => {
  it('drops TypeBox symbols and additionalProperties: false, keeps maps', () => {
    const schema = StrictObject({
      labels: Type.Optional(StringMap()),
      mode: StringEnum(['A', 'B']),
      count: Type.Integer({ minimum: 0 }),
    });
    expect(toOpenApi(schema)).toEqual({
      type: 'object',
      required: ['mode', 'count'],
      properties: {
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        mode: { type: 'string', enum: ['A', 'B'] },
        count: { type: 'integer', minimum: 0 },
      },
    });
  });

  it('throws on keywords a CRD cannot hold', () => {
    expect(() => toOpenApi(Type.Object({ x: Type.Literal('a') }))).toThrow(
      new OpenApiError('.x', 'keyword const has no place in a CRD schema'),
    );
    expect(() => toOpenApi(Type.Record(Type.String(), Type.String()))).toThrow(/patternProperties/);
  });
});

describe('assertStructural', () => {
  it('accepts junctors that only constrain, beside typed properties', () => {
    expect(() =>
      assertStructural({
        type: 'object',
        properties: { a: { type: 'string' }, b: { type: 'string' } },
        oneOf: [{ required: ['a'] }, { required: ['b'], not: { required: ['a'] } }],
      }),
    ).not.toThrow();
  });

  it.each([
    [{ properties: { a: { type: 'string' } } }, '<root>: every node needs a type'],
    [{ type: 'object', properties: { a: {} } }, '.a: every node needs a type'],
    [{ type: 'object', properties: { a: { $ref: '#/x' } } }, '.a: $ref is not allowed'],
    [
      { type: 'object', oneOf: [{ type: 'object' }] },
      '.oneOf[0]: type is not allowed inside allOf/anyOf/oneOf/not',
    ],
    [
      { type: 'object', not: { description: 'x' } },
      '.not: description is not allowed inside allOf/anyOf/oneOf/not',
    ],
    [
      { type: 'object', properties: {}, additionalProperties: { type: 'string' } },
      '<root>: properties and additionalProperties are mutually exclusive',
    ],
    [
      { type: 'object', additionalProperties: false },
      '<root>: additionalProperties: false is not allowed',
    ],
    [
      {
        type: 'array',
        'x-kubernetes-list-map-keys': ['type'],
        items: { type: 'object', properties: { type: { type: 'string' } } },
      },
      '<root>: list map key type must be required in the items',
    ],
  ])('refuses %j', (schema, message) => {
    expect(() => assertStructural(schema)).toThrow(message);
  });
});
