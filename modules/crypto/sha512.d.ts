/** SHA-512 (FIPS 180-4), 64 bytes. */
export declare function sha512(data: Uint8Array): Uint8Array;
