import { describe, expect, it } from 'vitest';
import { completeLines } from './lines';

describe('completeLines', () => {
  it.each([
    ['', [], ''],
    ['{"a":1}', [], '{"a":1}'],
    ['{"a":1}\n', ['{"a":1}'], ''],
    ['a\n\n  b \r\nc', ['a', 'b'], 'c'],
  ])('%j', (buf, lines, rest) => {
    expect(completeLines(buf)).toEqual({ lines, rest });
  });
});
