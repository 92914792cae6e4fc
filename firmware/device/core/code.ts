import type { Assets } from './assets';

/** Bytes turned into text per piece: the pieces and the joined text are in the heap together for a moment. */
const enum Code {
  PIECE = 1024,
}

/**
 * Evaluates asset `id`, JavaScript text whose value is the code's export, and returns that value:
 * code an image needs only now and then (the update worker), read from flash when it is needed. On
 * Kaluma the program's text is parsed into JerryScript's heap for good; text evaluated here takes
 * the heap only while something holds the value it returns (docs/formats/assets.md, asset 5). The
 * text is strict code that declares nothing outside itself. It comes from the assets of the running
 * slot, which were verified with the image (docs/formats/update.md).
 * Text that starts with a comment keeps its messages in it, out of the code (whose literals the
 * heap would keep after the code is let go: firmware/host/ondemand.ts): its value is then a
 * function of the assets and the asset's offset, which reads them from there and gives the export.
 * Throws if the asset is missing (an image built for another target, or a damaged partition).
 */
export function loadCode(assets: Pick<Assets, 'find' | 'read'>, id: number): unknown {
  const span = assets.find(id);
  if (!span) throw new Error('the code asset ' + id + ' is missing from the assets');
  const parts: string[] = [];
  for (let at = 0; at < span.length; at += Code.PIECE) {
    const bytes = assets.read(span.offset + at, Math.min(Code.PIECE, span.length - at));
    parts.push(String.fromCharCode.apply(null, bytes as unknown as number[]));
  }
  const text = parts.join('');
  // The pieces go before the text is parsed: the heap holds the text once while the parser works.
  parts.length = 0;
  // Indirect: evaluated in the global scope, where the text (strict) declares nothing that outlives it.
  const indirect = eval;
  const value = indirect(text);
  // "/": the text starts with its messages' comment, and its value takes where to read them.
  return text.charCodeAt(0) === 47 ? (value as (assets: Pick<Assets, 'read'>, offset: number) => unknown)(assets, span.offset) : value;
}

/**
 * Evaluates `text`, one strict expression, in the global scope (an indirect eval: the text declares
 * nothing that outlives it) and returns its value. Espruino passes a Storage file's bytes read in
 * place (`require('Storage').read`), untouched: its function code then stays in flash.
 */
export function evaluate(text: unknown): unknown {
  const indirect = eval;
  return indirect(text as string);
}
