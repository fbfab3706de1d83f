/**
 * Errors keep their kind across every boundary (issue 33): one encoder for threads, processes
 * and queues, and a stable code on every error the API answers with.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeviceError } from '../src/compute/read.js';
import { ConflictError, crossedError, decodeError, encodeError, EnvironmentError, ERROR_CODES, errorCode, UserError } from '../src/util/errors.js';

describe('errors across a boundary', () => {
  it('decode(encode(e)) is e again: its class, code and message, whatever the message holds', () => {
    const kinds = [(m: string) => new UserError(m), (m: string) => new ConflictError(m), (m: string) => new EnvironmentError(m), (m: string) => new DeviceError(m)];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: kinds.length - 1 }), fc.string(), fc.string(), (k, message, prefix) => {
        const err = kinds[k](message);
        // A queue or a thread may put words before the text it was given.
        const back = decodeError(`${prefix}${encodeError(err)}`)!;
        expect(back.constructor).toBe(err.constructor);
        expect(back.message).toBe(message);
        expect(errorCode(back)).toBe(errorCode(err));
      }),
    );
  });

  it('a bug stays a bug (AE_INTERNAL, a plain Error); text without an envelope is not decoded', () => {
    expect(errorCode(new TypeError('x is undefined'))).toBe('AE_INTERNAL');
    expect(decodeError(encodeError(new TypeError('x')))).toEqual(new Error('x'));
    expect(decodeError('ENOSPC: no space left on device')).toBeUndefined();
    const plain = new Error('a bug');
    expect(crossedError(plain)).toBe(plain);
    expect(crossedError(new Error(encodeError(new UserError('bad row 3'))))).toBeInstanceOf(UserError);
  });

  it('every code of the catalog is described, and each error class has its own', () => {
    for (const [code, text] of Object.entries(ERROR_CODES)) expect(text.length, code).toBeGreaterThan(10);
    expect(new Set([new UserError('').code, new ConflictError('').code, new EnvironmentError('').code, new DeviceError('').code]).size).toBe(4);
  });
});
