/**
 * Globals every target runtime provides to device code (Kaluma 1.2.1, Espruino 2v29, the host).
 * Anything runtime-specific is declared in that runtime's board, never here.
 */
declare const console: { log(...values: unknown[]): void };
declare function setTimeout(callback: () => void, ms: number): number;
declare function clearTimeout(id: number): void;
declare function setInterval(callback: () => void, ms: number): number;
declare function clearInterval(id: number): void;
