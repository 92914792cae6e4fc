/** SHA-512 (FIPS 180-4), 64 bytes. */
export declare function sha512(data: Uint8Array): Uint8Array;
/** The state of a SHA-512 computed in steps (opaque). */
export interface Sha512State { readonly n: number }
/** Starts a SHA-512 of the concatenation of `parts` (together under 2^32 bytes; they must not change until it is done). */
export declare function sha512Begin(parts: Uint8Array[]): Sha512State;
/** Runs `rounds` rounds (a divisor of 80: 80 is one block); the 64-byte digest once the last block is done, else null. */
export declare function sha512Step(state: Sha512State, rounds: number): Uint8Array | null;
