import { describe, expect, it } from 'vitest';
import { neutralise, renderTemplate, TemplateError, toView, validateTemplate } from './template.ts';

const payload = {
  issue: {
    number: 7,
    title: 'Crash on start',
    body: 'line one\nline two',
    labels: [{ name: 'bug' }, { name: 'ai:developer' }],
    draft: false,
  },
  repository: { full_name: 'octo/hello' },
  tags: ['a', 'b'],
};

describe('renderTemplate: table', () => {
  const cases: { name: string; template: string; data?: unknown; kind?: 'text' | 'token'; want: string }[] = [
    { name: 'plain lookup', template: '{{issue.title}}', want: 'Crash on start' },
    {
      name: 'numbers and booleans',
      template: '#{{issue.number}} draft={{issue.draft}}',
      want: '#7 draft=false',
    },
    { name: 'newlines kept in text', template: '{{issue.body}}', want: 'line one\nline two' },
    { name: 'missing value is empty', template: '[{{issue.nothing}}]', want: '[]' },
    { name: 'list of objects by name', template: '{{issue.labels}}', want: 'bug, ai:developer' },
    { name: 'list of strings', template: '{{tags}}', want: 'a, b' },
    {
      name: 'sections iterate',
      template: '{{#issue.labels}}<{{name}}>{{/issue.labels}}',
      want: '<bug><ai:developer>',
    },
    { name: 'inverted section', template: '{{^issue.draft}}ready{{/issue.draft}}', want: 'ready' },
    { name: 'comments vanish', template: 'a{{! note }}b', want: 'ab' },
    { name: 'objects render empty', template: '[{{repository}}]', want: '[]' },
    {
      name: 'no HTML escaping (prompts are not HTML)',
      template: '{{x}}',
      data: { x: 'a < b && "c"' },
      want: 'a < b && "c"',
    },
    {
      name: 'token: whitespace removed',
      template: '{{x}}',
      data: { x: ' feat/ new\tthing\n' },
      kind: 'token',
      want: 'feat/newthing',
    },
    { name: 'token: list joined with commas', template: '{{tags}}', kind: 'token', want: 'a,b' },
    {
      name: 'concurrency key',
      template: '{{repository.full_name}}#{{issue.number}}',
      kind: 'token',
      want: 'octo/hello#7',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(renderTemplate(c.template, toView(c.data ?? payload), c.kind ? { kind: c.kind } : {})).toBe(
        c.want,
      );
    });
  }
});

describe('renderTemplate: hostile payload strings', () => {
  const hostile: {
    name: string;
    value: unknown;
    template?: string;
    kind?: 'text' | 'token';
    want: string;
  }[] = [
    {
      name: 'a tag inside a value stays literal',
      value: '{{secret}} {{#x}}y{{/x}}',
      want: '{{secret}} {{#x}}y{{/x}}',
    },
    { name: 'triple mustache inside a value stays literal', value: '{{{x}}}', want: '{{{x}}}' },
    { name: 'NUL and escape sequences removed', value: 'ok\u0000\u001b[31mred\u0007', want: 'ok[31mred' },
    {
      name: 'bidi overrides removed (Trojan Source)',
      value: 'admin\u202E\u2066txt.exe\u2069',
      want: 'admintxt.exe',
    },
    { name: 'zero-width characters removed', value: 'a\u200Bb\uFEFFc', want: 'abc' },
    { name: 'carriage returns removed, newlines kept', value: 'a\r\nb', want: 'a\nb' },
    {
      name: 'a token cannot smuggle spaces or newlines',
      value: 'main; rm -rf /\nx',
      kind: 'token',
      want: 'main;rm-rf/x',
    },
    {
      name: 'prototype keys in the payload are plain data',
      value: 'x',
      template: '[{{__proto__}}]',
      want: '[]',
    },
  ];
  for (const c of hostile) {
    it(c.name, () => {
      expect(
        renderTemplate(c.template ?? '{{v}}', toView({ v: c.value }), c.kind ? { kind: c.kind } : {}),
      ).toBe(c.want);
    });
  }

  it('prototype members are not reachable from templates', () => {
    const view = toView(payload);
    for (const t of [
      '{{constructor}}',
      '{{issue.constructor}}',
      '{{issue.constructor.name}}',
      '{{issue.hasOwnProperty}}',
      '{{issue.labels.pop}}',
      '{{issue.labels.constructor.constructor}}',
      '{{toString}}',
    ]) {
      expect(renderTemplate(t, view), t).toBe('');
    }
    // and nothing was mutated by trying
    expect(renderTemplate('{{issue.labels}}', view)).toBe('bug, ai:developer');
  });

  it('a JSON key named __proto__ is data, not a prototype', () => {
    const data = JSON.parse('{"__proto__": {"polluted": "yes"}, "a": 1}');
    const view = toView(data) as Record<string, unknown>;
    expect(renderTemplate('{{polluted}}', view)).toBe('');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('long values are cut and marked', () => {
    const out = renderTemplate('{{v}}', toView({ v: 'x'.repeat(50_000) }), { maxValueChars: 100 });
    expect(out).toBe(`${'x'.repeat(100)}…[truncated]`);
  });

  it('deeply nested payloads are bounded', () => {
    let deep: Record<string, unknown> = { leaf: 'end' };
    for (let i = 0; i < 100; i++) deep = { d: deep };
    expect(() => toView(deep)).not.toThrow();
  });
});

describe('validateTemplate', () => {
  for (const t of ['{{{issue.title}}}', '{{&issue.title}}', '{{> partial}}', '{{#a}}{{{b}}}{{/a}}']) {
    it(`refuses ${t}`, () => {
      expect(() => validateTemplate(t)).toThrow(TemplateError);
      expect(() => renderTemplate(t, toView(payload))).toThrow(TemplateError);
    });
  }
  it('refuses a template that does not parse', () => {
    expect(() => validateTemplate('{{#open}} never closed')).toThrow(/does not parse/);
  });
  it('accepts plain tags, sections, inverted sections and comments', () => {
    expect(() => validateTemplate('{{a}} {{#b}}{{c}}{{/b}} {{^d}}e{{/d}} {{! f }}')).not.toThrow();
  });
});

describe('neutralise', () => {
  it('keeps tabs and newlines in text', () => {
    expect(neutralise('a\tb\nc', 'text', 100)).toBe('a\tb\nc');
  });
});
