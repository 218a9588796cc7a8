// What a review reads: a file or stdin over MAX_INPUT_BYTES is refused before it is parsed.
import { mkdtemp, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RedlineError } from '../../core/errors.js';
import { MAX_INPUT_BYTES, readManifests, readStdin } from '../../policies/review/inputs.js';

describe('bounded input', () => {
  it('a file over the limit is a problem naming its size, without reading it; one at the limit is read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'redline-inputs-'));
    const huge = join(dir, 'huge.yaml');
    await writeFile(huge, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
    await truncate(huge, MAX_INPUT_BYTES + 1); // sparse: no 16 MiB written
    const ok = join(dir, 'ok.yaml');
    await writeFile(ok, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n');
    const { docs, problems } = await readManifests([dir], () => Promise.resolve(''));
    expect(problems).toEqual([{
      file: huge, line: 1, column: 1, path: '',
      message: 'the file is 16.0 MiB, over the 16 MiB a review reads from one input (the API server takes objects of at most 3 MiB); split it into smaller files',
    }]);
    expect(docs.map((d) => (d.value['metadata'] as { name: string }).name)).toEqual(['y']);
  });

  it('stdin stops being read past the limit and is a problem', async () => {
    let pulled = 0;
    const endless = new Readable({ read() { pulled++; this.push(Buffer.alloc(1024, 'a')); } });
    await expect(readStdin(endless, 10 * 1024)).rejects.toThrow(expect.objectContaining({ kind: 'input', code: 'input-too-large' }));
    expect(pulled).toBeLessThan(64); // it stopped, it did not drain an endless stream
    const { problems } = await readManifests(['-'], () => Promise.reject(new RedlineError('input-too-large', 'x')));
    expect(problems[0]!.message).toMatch(/^stdin is over the 16 MiB a review reads from one input/);
    expect(await readStdin(Readable.from([Buffer.from('kind: A\n')]), 10)).toBe('kind: A\n');
  });
});
