import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readConfigFile } from './read-config-file.ts';

describe('readConfigFile', () => {
  const directory = mkdtempSync(join(tmpdir(), `egw-config-read-${process.pid}-`));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('reads a file as UTF-8', async () => {
    const file = join(directory, 'ok.yaml');
    writeFileSync(file, 'name: café\n');
    await expect(readConfigFile(file)).resolves.toBe('name: café\n');
  });

  it('tells a missing file from one that cannot be read', async () => {
    await expect(readConfigFile(join(directory, 'none.yaml'))).rejects.toMatchObject({
      name: 'ConfigError',
      code: 'EGW_CONFIG_MISSING',
    });
    await expect(readConfigFile(join(directory, 'none', 'x.yaml'))).rejects.toMatchObject({
      code: 'EGW_CONFIG_MISSING',
    });
    await expect(readConfigFile(directory)).rejects.toMatchObject({
      code: 'EGW_CONFIG_UNREADABLE',
      message: `${directory}: not a regular file`,
    });
    await expect(readConfigFile('/dev/zero')).rejects.toMatchObject({
      code: 'EGW_CONFIG_UNREADABLE',
    });
  });

  it('refuses a file above the size limit without reading it', async () => {
    const file = join(directory, 'big.yaml');
    writeFileSync(file, 'x'.repeat(65));
    await expect(readConfigFile(file, 64)).rejects.toMatchObject({ code: 'EGW_CONFIG_TOO_LARGE' });
    await expect(readConfigFile(file, 65)).resolves.toHaveLength(65);
  });
});
