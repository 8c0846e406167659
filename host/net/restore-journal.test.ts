import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileJournal } from './restore-journal.ts';

describe('fileJournal', () => {
  const directory = mkdtempSync(join(tmpdir(), 'egw-net-journal-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('writes through and reads back, keeping insertion order', () => {
    const path = join(directory, 'a.json');
    const journal = fileJournal(path);
    journal.set('sysctl:b', { original: '0' });
    journal.set('sysctl:a', { original: '1' });
    expect(fileJournal(path).keys()).toEqual(['sysctl:b', 'sysctl:a']);
    expect(fileJournal(path).get('sysctl:a')).toEqual({ original: '1' });
    journal.delete('sysctl:b');
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ 'sysctl:a': { original: '1' } });
  });

  it('refuses a corrupt file rather than forgetting what to restore', () => {
    const path = join(directory, 'bad.json');
    writeFileSync(path, '[1, 2');
    expect(() => fileJournal(path)).toThrow(expect.objectContaining({ code: 'EGW_NET_SYSCTL' }));
  });
});
