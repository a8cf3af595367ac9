import test from 'ava';
import { parseRange } from '../../server/src/http/range.js';

const size = 100;
const cases: { name: string; header: string | undefined; want: ReturnType<typeof parseRange> }[] = [
  { name: 'no header sends everything', header: undefined, want: null },
  { name: 'first bytes', header: 'bytes=0-9', want: { start: 0, end: 9 } },
  { name: 'open-ended', header: 'bytes=90-', want: { start: 90, end: 99 } },
  { name: 'suffix', header: 'bytes=-10', want: { start: 90, end: 99 } },
  { name: 'suffix longer than the resource is the whole resource', header: 'bytes=-500', want: { start: 0, end: 99 } },
  { name: 'end past the resource is clamped', header: 'bytes=50-500', want: { start: 50, end: 99 } },
  { name: 'start past the resource is unsatisfiable', header: 'bytes=100-', want: 'unsatisfiable' },
  { name: 'empty suffix is unsatisfiable', header: 'bytes=-0', want: 'unsatisfiable' },
  { name: 'several ranges are ignored', header: 'bytes=0-1,5-6', want: null },
  { name: 'other units are ignored', header: 'items=0-1', want: null },
  { name: 'reversed range is ignored', header: 'bytes=9-3', want: null },
  { name: 'garbage is ignored', header: 'bytes=abc', want: null },
];
for (const c of cases) {
  test(`Range: ${c.name}`, (t) => {
    t.deepEqual(parseRange(c.header, size), c.want);
  });
}
