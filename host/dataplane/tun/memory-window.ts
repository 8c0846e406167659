import { NativeArgumentError } from '../native/errors.ts';
import { memoryAddress } from '../native/ffi.ts';

/**
 * The native base address and a known length of a shared WebAssembly.Memory, taken once and
 * refreshed only when a range falls past the known length (the memory may have grown).
 * A shared memory never moves and never shrinks, so both stay valid; every range is
 * checked before the kernel is handed an address, since a wrong one would corrupt the
 * process rather than fail.
 */
export class MemoryWindow {
  private memory: WebAssembly.Memory | null = null;
  private base = 0;
  private length = 0;

  /** The native address of `offset`, after checking that `[offset, offset + size)` fits. */
  addressOf(memory: WebAssembly.Memory, offset: number, size: number): number {
    if (memory !== this.memory) this.attach(memory);
    const end = offset + size;
    if (end > this.length) this.length = memory.buffer.byteLength;
    if (!(offset >= 0 && size >= 0 && end <= this.length)) {
      throw new NativeArgumentError(
        `range [${offset}, ${end}) lies outside the memory (${this.length} bytes)`,
      );
    }
    return this.base + offset;
  }

  private attach(memory: WebAssembly.Memory): void {
    const buffer: ArrayBufferLike = memory.buffer;
    if (!(buffer instanceof SharedArrayBuffer)) {
      // A non-shared memory's buffer is detached and moved by grow(): its address is not
      // stable, so the dataplane refuses it.
      throw new NativeArgumentError('packet memory must be a shared WebAssembly.Memory');
    }
    this.memory = memory;
    this.base = memoryAddress(memory.buffer);
    this.length = memory.buffer.byteLength;
  }
}
