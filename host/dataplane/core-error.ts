import { CodedError } from '../model/coded-error.ts';
export type CoreErrorCode =
  /** build/core.wasm is not there: run `npm run build:core`. */
  | 'EGW_CORE_MISSING'
  /** The configuration was refused by init(). */
  | 'EGW_CORE_CONFIG'
  /** The memory could not grow to the configured size. */
  | 'EGW_CORE_MEMORY'
  /** attach() found no initialised core, or another ABI version, in the memory. */
  | 'EGW_CORE_ABI'
  /** The core refused a policy table image. */
  | 'EGW_CORE_TABLE_REJECTED'
  /** A table swap was requested while the previous one was not yet taken. */
  | 'EGW_CORE_BUSY'
  /** A batch larger than the core's slots, or a packet larger than a slot. */
  | 'EGW_CORE_BATCH';

export class CoreError extends CodedError<CoreErrorCode> {}
